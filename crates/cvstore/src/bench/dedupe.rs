//! The dedupe owner cycle (`register_or_join` as owner, then `complete` with a 1 KB
//! result) against the raw calls it needs: a conditional PutItem of the job and a
//! conditional UpdateItem finishing it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::primitives::Blob;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use comic_vine_dynamodb_store::{DynamoDbDedupeStore, PK, SK, Table};
use comic_vine_store::DedupeStore;
use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::Workload;
use super::meter::{Cost, Meter};

pub(crate) fn workloads(table: &Table) -> Vec<Workload> {
    let store: Arc<DynamoDbDedupeStore<Value>> = Arc::new(DynamoDbDedupeStore::new(table));
    let meter = Arc::new(Meter::default());
    let run = format!("{:x}", fastrand::u64(..));
    let result = Arc::new(json!({"results": [{"id": 1, "name": "x".repeat(900)}]}));
    // Every cycle needs a fresh key; call numbers restart with each measurement.
    let fresh = Arc::new(AtomicU64::new(0));

    let raw = {
        let (table, meter, run, fresh) = (
            table.clone(),
            Arc::clone(&meter),
            run.clone(),
            Arc::clone(&fresh),
        );
        Arc::new(move |_| {
            let (table, meter) = (table.clone(), Arc::clone(&meter));
            let pk = format!(
                "DEDUPE#bench-raw-{run}-{}",
                fresh.fetch_add(1, Ordering::Relaxed)
            );
            Box::pin(async move {
                let s = |v: &str| AttributeValue::S(v.to_owned());
                let put = table
                    .client()
                    .put_item()
                    .table_name(table.name())
                    .item(PK, s(&pk))
                    .item(SK, s("JOB"))
                    .item("JID", s("job"))
                    .item("ST", s("pending"))
                    .condition_expression("attribute_not_exists(#pk)")
                    .expression_attribute_names("#pk", PK)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await?;
                meter.write(put.consumed_capacity());
                let done = table
                    .client()
                    .update_item()
                    .table_name(table.name())
                    .key(PK, s(&pk))
                    .key(SK, s("JOB"))
                    .update_expression("SET #st = :done, #v = :v")
                    .condition_expression("#jid = :jid AND #st = :pending")
                    .expression_attribute_names("#st", "ST")
                    .expression_attribute_names("#v", "V")
                    .expression_attribute_names("#jid", "JID")
                    .expression_attribute_values(":done", s("completed"))
                    .expression_attribute_values(":pending", s("pending"))
                    .expression_attribute_values(":jid", s("job"))
                    .expression_attribute_values(
                        ":v",
                        AttributeValue::B(Blob::new(vec![b'x'; 500])),
                    )
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await?;
                meter.write(done.consumed_capacity());
                Ok(())
            }) as BoxFuture<'static, anyhow::Result<()>>
        }) as Arc<dyn Fn(u64) -> _ + Send + Sync>
    };
    let cycle = {
        let (store, result) = (Arc::clone(&store), Arc::clone(&result));
        Arc::new(move |_| {
            let (store, result) = (Arc::clone(&store), Arc::clone(&result));
            let hash = format!("bench-{run}-{}", fresh.fetch_add(1, Ordering::Relaxed));
            Box::pin(async move {
                let registration = store.register_or_join(&hash).await?;
                anyhow::ensure!(registration.is_owner(), "a fresh hash must be owned");
                store
                    .complete(&hash, registration.job_id(), &result)
                    .await?;
                Ok(())
            }) as BoxFuture<'static, anyhow::Result<()>>
        }) as Arc<dyn Fn(u64) -> _ + Send + Sync>
    };
    let raw_cost = Arc::new(move || meter.total()) as Arc<dyn Fn() -> Cost + Send + Sync>;
    let store_cost =
        Arc::new(move || Cost::from(&store.metrics())) as Arc<dyn Fn() -> Cost + Send + Sync>;
    vec![
        Workload {
            name: "raw conditional Put+Update".into(),
            baseline: None,
            op: raw,
            cost: raw_cost,
        },
        Workload {
            name: "dedupe owner cycle".into(),
            baseline: Some("raw conditional Put+Update"),
            op: cycle,
            cost: store_cost,
        },
    ]
}

//! The dedupe owner cycle (`register_or_join` as owner, then `complete` with a 1 KB
//! result) against the raw calls it needs: the conditional PutItem of the job and the
//! conditional UpdateItem finishing it, with the store's attributes and conditions (so
//! the ratio shows the store's own overhead, not a smaller item). The raw side encodes
//! the result on every call, as the cache's raw PutItem does: a caller of the SDK has
//! to make the bytes it sends too.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::primitives::Blob;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::{
    AttributeValue, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
};
use comic_vine_dynamodb_store::{DynamoDbDedupeStore, PK, SK, TTL, Table};
use comic_vine_store::DedupeStore;
use comic_vine_store::clock::{Clock, SystemClock};
use serde_json::{Value, json};

use super::meter::{Cost, Meter};
use super::{Workload, cost_of, op, raw_value};

pub(crate) fn workloads(table: &Table) -> Vec<Workload> {
    let store: Arc<DynamoDbDedupeStore<Value>> = Arc::new(DynamoDbDedupeStore::new(table));
    let meter = Arc::new(Meter::default());
    let run = format!("{:x}", fastrand::u64(..));
    let result = Arc::new(json!({"results": [{"id": 1, "name": "x".repeat(900)}]}));
    // Every cycle needs a fresh key; call numbers restart with each measurement.
    let fresh = Arc::new(AtomicU64::new(0));

    let raw = {
        let (table, meter, run, fresh, result) = (
            table.clone(),
            Arc::clone(&meter),
            run.clone(),
            Arc::clone(&fresh),
            Arc::clone(&result),
        );
        op(move |_| {
            let (table, meter) = (table.clone(), Arc::clone(&meter));
            let pk = format!(
                "DEDUPE#bench-raw-{run}-{}",
                fresh.fetch_add(1, Ordering::Relaxed)
            );
            let result = Arc::clone(&result);
            async move {
                // The items and conditions the store writes (attribute names as in the
                // store's job layout), sent by hand: what the cycle cannot do without.
                let (s, n) = (
                    |v: &str| AttributeValue::S(v.to_owned()),
                    |v: u64| AttributeValue::N(v.to_string()),
                );
                let now = SystemClock.now().as_millis();
                let put = table
                    .client()
                    .put_item()
                    .table_name(table.name())
                    .item(PK, s(&pk))
                    .item(SK, s("JOB"))
                    .item("job_id", s("job"))
                    .item("status", s("pending"))
                    .item("created_at", n(now))
                    .item("lease_until", n(now + 30_000))
                    .item(TTL, n(now / 1000 + 3600))
                    .condition_expression(
                        "attribute_not_exists(#PK) OR (attribute_not_exists(#JID) AND #TTL <= :nowsecs)",
                    )
                    .expression_attribute_names("#PK", PK)
                    .expression_attribute_names("#JID", "job_id")
                    .expression_attribute_names("#TTL", TTL)
                    .expression_attribute_values(":nowsecs", n(now / 1000))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await?;
                meter.write(put.consumed_capacity());
                let payload = raw_value::encode(&result);
                let names = ["status", "finished_at", TTL, "encoding", "raw_len", "value"];
                let set = names
                    .iter()
                    .map(|a| format!("#{a} = :new{a}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut update = table
                    .client()
                    .update_item()
                    .table_name(table.name())
                    .key(PK, s(&pk))
                    .key(SK, s("JOB"))
                    .update_expression(format!("SET {set}"))
                    .condition_expression("#JID = :jid AND #ST = :st")
                    .expression_attribute_names("#JID", "job_id")
                    .expression_attribute_names("#ST", "status")
                    .expression_attribute_values(":jid", s("job"))
                    .expression_attribute_values(":st", s("pending"));
                let values = [
                    s("completed"),
                    n(SystemClock.now().as_millis()),
                    n(now / 1000 + 3600),
                    s(payload.0),
                    n(payload.1 as u64),
                    AttributeValue::B(Blob::new(payload.2)),
                ];
                for (a, v) in names.iter().zip(values) {
                    update = update
                        .expression_attribute_names(format!("#{a}"), *a)
                        .expression_attribute_values(format!(":new{a}"), v);
                }
                let done = update
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await?;
                meter.write(done.consumed_capacity());
                Ok(())
            }
        })
    };
    let cycle = {
        let (store, result) = (Arc::clone(&store), Arc::clone(&result));
        op(move |_| {
            let (store, result) = (Arc::clone(&store), Arc::clone(&result));
            let hash = format!("bench-{run}-{}", fresh.fetch_add(1, Ordering::Relaxed));
            async move {
                let registration = store.register_or_join(&hash).await?;
                anyhow::ensure!(registration.is_owner(), "a fresh hash must be owned");
                store
                    .complete(&hash, registration.job_id(), &result)
                    .await?;
                Ok(())
            }
        })
    };
    let raw_cost = cost_of(move || meter.total());
    let store_cost = cost_of(move || Cost::from(&store.metrics()));
    vec![
        Workload::new("raw conditional Put+Update", None, raw, raw_cost),
        Workload::new(
            "dedupe owner cycle",
            Some("raw conditional Put+Update"),
            cycle,
            store_cost,
        ),
    ]
}

//! The middleware on the DynamoDB stores (DynamoDB Local, started by the `local`
//! harness or the one `DYNAMODB_ENDPOINT` names): every client stands for a process,
//! with its own DynamoDB client and store instances on one shared table.

mod support;

use std::sync::Arc;
use std::time::Duration;

use comic_vine_dynamodb_store::local::{DynamoDbLocal, TestTable};
use comic_vine_dynamodb_store::{
    DynamoDbCacheStore, DynamoDbConfig, DynamoDbDedupeStore, DynamoDbRateLimitStore, Table,
};
use comic_vine_store::DedupeConfig;
use comic_vine_store::pipeline::PipelineConfig;
use reqwest_middleware::ClientWithMiddleware;
use support::{Stores, client, cooldown_config, generous_limits, stub};

async fn fresh_table() -> TestTable {
    DynamoDbLocal::shared()
        .expect("DynamoDB Local should start (see scripts/dynamodb-local.sh)")
        .fresh_table()
        .await
        .expect("fresh table")
}

/// The stores of one process on `table`: its own DynamoDB client and store instances.
fn process_stores(table: &TestTable) -> Stores {
    let client = DynamoDbLocal::shared().unwrap().client();
    let config = DynamoDbConfig::builder()
        .table_name(table.name())
        .client(client.clone())
        .rate_limits(generous_limits())
        .dedupe(DedupeConfig {
            poll_interval: Duration::from_millis(20),
            max_poll_interval: Duration::from_millis(100),
            ..DedupeConfig::default()
        })
        .build()
        .unwrap();
    let handle = Table::new(client, config);
    Stores {
        cache: Arc::new(DynamoDbCacheStore::new(&handle)),
        dedupe: Arc::new(DynamoDbDedupeStore::new(&handle)),
        limiter: Arc::new(DynamoDbRateLimitStore::new(&handle)),
    }
}

fn process_client(table: &TestTable, config: PipelineConfig) -> ClientWithMiddleware {
    client(process_stores(table), config)
}

#[tokio::test]
async fn eight_processes_asking_at_once_make_one_upstream_call() {
    let table = fresh_table().await;
    let api = stub(Duration::from_millis(300)).await;
    let clients: Vec<_> = (0..8)
        .map(|_| process_client(&table, PipelineConfig::default()))
        .collect();
    let url = format!("{}/issues/?api_key=k&format=json&filter=id:1", api.url());
    let answers = support::get_concurrently(&clients, &url).await;
    support::assert_one_upstream_call_shared(&api, &answers);
}

async fn cooldown_shared_between_processes(retry_after: bool) {
    let table = fresh_table().await;
    let api = support::cooldown_stub(retry_after).await;
    let with_max_wait = |max_wait| process_client(&table, cooldown_config(retry_after, max_wait));
    let (first, impatient, patient) = (
        with_max_wait(Duration::from_secs(5)),
        with_max_wait(Duration::ZERO),
        with_max_wait(Duration::from_secs(5)),
    );
    support::assert_420_cools_down_the_resource_for_other_clients(
        &api,
        retry_after,
        &first,
        &impatient,
        &patient,
    )
    .await;
}

#[tokio::test]
async fn a_420_with_retry_after_cools_the_resource_down_for_every_process() {
    cooldown_shared_between_processes(true).await;
}

#[tokio::test]
async fn a_420_without_retry_after_cools_down_every_process_for_the_default_cooldown() {
    cooldown_shared_between_processes(false).await;
}

//! The tower layer on the DynamoDB stores (DynamoDB Local, started by the `local`
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
use comic_vine_store::pipeline::{PipelineConfig, ServedBy};
use support::{HttpClient, Stores, client, cooldown_config, generous_limits, get, stub};

async fn fresh_table() -> TestTable {
    DynamoDbLocal::shared()
        .expect("DynamoDB Local should start (see scripts/dynamodb-local.sh)")
        .fresh_table()
        .await
        .expect("fresh table")
}

/// The client of one process on `table`: its own DynamoDB client and store instances.
fn process_client(table: &TestTable, config: PipelineConfig) -> HttpClient {
    let dynamodb = DynamoDbLocal::shared().unwrap().client();
    let dynamodb_config = DynamoDbConfig::builder()
        .table_name(table.name())
        .client(dynamodb.clone())
        .rate_limits(generous_limits())
        .dedupe(DedupeConfig {
            poll_interval: Duration::from_millis(20),
            max_poll_interval: Duration::from_millis(100),
            ..DedupeConfig::default()
        })
        .build()
        .unwrap();
    let handle = Table::new(dynamodb, dynamodb_config);
    let stores = Stores {
        cache: Arc::new(DynamoDbCacheStore::new(&handle)),
        dedupe: Arc::new(DynamoDbDedupeStore::new(&handle)),
        limiter: Arc::new(DynamoDbRateLimitStore::new(&handle)),
    };
    client(stores, config)
}

#[tokio::test]
async fn another_process_gets_the_second_request_from_the_shared_cache() {
    let table = fresh_table().await;
    let api = stub(Duration::ZERO).await;
    let (one, two) = (
        process_client(&table, PipelineConfig::default()),
        process_client(&table, PipelineConfig::default()),
    );
    let url = |key: &str| format!("{}/issues/?api_key={key}&format=json&limit=3", api.url());
    let first = get(&one, &url("A")).await.unwrap();
    let second = get(&two, &url("B")).await.unwrap();
    assert_eq!(
        (first.served_by, second.served_by),
        (Some(ServedBy::Upstream), Some(ServedBy::Cache))
    );
    assert_eq!(second.body, first.body);
    assert_eq!(second.headers["content-type"], "application/json");
    assert_eq!(api.calls_to("issues"), 1);
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
    support::assert_420_cools_down_the_resource_for_other_clients(&api, retry_after, with_max_wait)
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

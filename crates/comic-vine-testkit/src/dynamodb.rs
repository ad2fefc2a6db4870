//! DynamoDB Local (started by the `local` harness or the one `DYNAMODB_ENDPOINT` names):
//! fresh tables, the stores of one process, and the scenarios across processes.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::local::{DynamoDbLocal, TestTable};
use comic_vine_dynamodb_store::{
    DynamoDbCacheStore, DynamoDbConfig, DynamoDbDedupeStore, DynamoDbRateLimitStore, Table,
};
use comic_vine_http::CachedResponse;
use comic_vine_store::DedupeConfig;
use comic_vine_store::pipeline::{Pipeline, PipelineConfig};

use crate::fleet::{
    assert_refreshed, assert_served_stale_while_revalidating, store_stale_entry, swr_config,
};
use crate::{
    Driver, Stores, cooldown_config, cooldown_stub, generous_limits, polling_dedupe, stub,
};

/// A fresh table on the shared DynamoDB Local.
pub async fn fresh_table() -> TestTable {
    DynamoDbLocal::shared()
        .expect("DynamoDB Local should start (see scripts/dynamodb-local.sh)")
        .fresh_table()
        .await
        .expect("fresh table")
}

/// Creates `table` on the shared DynamoDB Local with a string partition key `key` only
/// (no sort key, no index, no time to live): a table of another shape than the store's.
pub async fn create_key_only_table(table: &str, key: &str) {
    use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let client = DynamoDbLocal::shared()
        .expect("DynamoDB Local should start (see scripts/dynamodb-local.sh)")
        .client();
    client
        .create_table()
        .table_name(table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create a key-only table");
}

/// A handle on `table` with a DynamoDB client of its own, as one process has.
pub fn process_table(table: &TestTable) -> Table {
    table_named(table.name())
}

/// A handle on the table `name` of the shared DynamoDB Local, with a DynamoDB client of
/// its own (a child process opens the parent's table so).
pub fn table_named(name: &str) -> Table {
    let client = DynamoDbLocal::shared().unwrap().client();
    let config = DynamoDbConfig::builder()
        .table_name(name)
        .client(client.clone())
        .build()
        .unwrap();
    Table::new(client, config)
}

/// One process's DynamoDB stores, typed (their metrics count what each sent): the
/// dedupe store built with the cache (the value written once per complete-and-cache), the
/// limit out of reach.
pub struct ProcessStores {
    /// The response cache.
    pub cache: Arc<DynamoDbCacheStore<CachedResponse>>,
    /// The dedupe store, built with `cache`.
    pub dedupe: Arc<DynamoDbDedupeStore<CachedResponse>>,
    /// The rate limiter, with [`generous_limits`].
    pub limiter: Arc<DynamoDbRateLimitStore>,
}

/// A cache store on `handle` and a dedupe store with `config` built with it (a
/// complete-and-cache into that cache writes the value once, into the entry).
pub fn cache_and_dedupe<V>(
    handle: &Table,
    config: DedupeConfig,
) -> (Arc<DynamoDbCacheStore<V>>, DynamoDbDedupeStore<V>) {
    let cache = Arc::new(DynamoDbCacheStore::new(handle));
    let dedupe = DynamoDbDedupeStore::builder(handle)
        .config(config)
        .cache(Arc::clone(&cache))
        .build()
        .unwrap();
    (cache, dedupe)
}

impl ProcessStores {
    /// The stores of a new process on `table`, its dedupe store configured by `dedupe`.
    pub fn new(table: &TestTable, dedupe: DedupeConfig) -> Self {
        Self::on(&process_table(table), dedupe)
    }

    /// The stores of a new process on `handle`, its dedupe store configured by `dedupe`.
    pub fn on(handle: &Table, dedupe: DedupeConfig) -> Self {
        let (cache, dedupe) = cache_and_dedupe(handle, dedupe);
        let limiter = DynamoDbRateLimitStore::builder(handle)
            .limits(generous_limits())
            .build()
            .unwrap();
        Self {
            cache,
            dedupe: Arc::new(dedupe),
            limiter: Arc::new(limiter),
        }
    }

    /// DynamoDB requests the three stores have sent.
    pub fn requests(&self) -> u64 {
        self.cache.metrics().requests
            + self.dedupe.metrics().requests
            + self.limiter.metrics().requests
    }

    /// The same stores, as a pipeline takes them.
    pub fn stores(&self) -> Stores {
        Stores {
            cache: self.cache.clone(),
            dedupe: self.dedupe.clone(),
            limiter: self.limiter.clone(),
        }
    }
}

/// The stores of one process on `table`: its own DynamoDB client and store instances,
/// limit out of reach, dedupe polling every 20 to 100 ms.
pub fn process_stores(table: &TestTable) -> Stores {
    stores_on(&process_table(table))
}

/// The stores of one process on `handle`, as [`process_stores`] builds them.
pub fn stores_on(handle: &Table) -> Stores {
    ProcessStores::on(handle, polling_dedupe()).stores()
}

/// The client of one process on `table`.
pub fn process_client<D: Driver>(table: &TestTable, config: PipelineConfig) -> D::Client {
    D::client(process_stores(table), config)
}

/// Eight processes GET the same URL at once: one upstream call shared by the others.
pub async fn eight_processes_asking_at_once_make_one_upstream_call<D: Driver>() {
    let table = fresh_table().await;
    let api = stub(Duration::from_millis(300)).await;
    let clients: Vec<_> = (0..8)
        .map(|_| process_client::<D>(&table, PipelineConfig::default()))
        .collect();
    let url = format!("{}/issues/?api_key=k&format=json&filter=id:1", api.url());
    let answers = crate::get_concurrently::<D>(&clients, &url).await;
    crate::assert_one_upstream_call_shared(&api, &answers);
}

/// A 420 one process gets cools the resource down for the other processes on the table.
pub async fn cooldown_shared_between_processes<D: Driver>(retry_after: bool) {
    let table = fresh_table().await;
    let api = cooldown_stub(retry_after).await;
    let with_max_wait =
        |max_wait| process_client::<D>(&table, cooldown_config(retry_after, max_wait));
    crate::assert_420_cools_down_the_resource_for_other_clients::<D>(
        &api,
        retry_after,
        with_max_wait,
    )
    .await;
}

/// Eight processes on one key stored stale, within `stale-while-revalidate`: each is
/// answered stale at once, and one background refresh across them (through the dedupe
/// table) reaches the stub; the entry is fresh afterwards.
pub async fn eight_processes_on_a_stale_key_answer_stale_and_refresh_once<D: Driver>() {
    let table = fresh_table().await;
    // The refresh takes 1 s at the stub: the eight are answered meanwhile.
    let api = stub(Duration::from_secs(1)).await;
    let pipelines: Vec<Pipeline<CachedResponse>> = (0..8)
        .map(|_| process_stores(&table).pipeline(swr_config()))
        .collect();
    let url = format!("{}/issues/?api_key=k&filter=id:2", api.url());
    store_stale_entry(&*process_stores(&table).cache, &url).await;

    let clients: Vec<_> = pipelines
        .iter()
        .map(|p| D::from_pipeline(p.clone()))
        .collect();
    let answers = crate::get_concurrently::<D>(&clients, &url).await;
    answers
        .iter()
        .for_each(assert_served_stale_while_revalidating);
    for pipeline in &pipelines {
        pipeline.refreshes_idle().await;
    }
    assert_eq!(
        api.total_calls(),
        1,
        "one refresh across the eight processes"
    );
    assert_refreshed::<D>(&clients[3], &url, &api).await;
}

//! DynamoDB Local (started by the `local` harness or the one `DYNAMODB_ENDPOINT` names):
//! fresh tables, the stores of one process, and the scenarios across processes.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_dynamodb_store::local::{DynamoDbLocal, TestTable};
use comic_vine_dynamodb_store::{
    DynamoDbCacheStore, DynamoDbConfig, DynamoDbDedupeStore, DynamoDbRateLimitStore, Table,
};
use comic_vine_http::{CachedResponse, HttpPipeline, SERVED_BY_HEADER};
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, ServedBy, StalePolicy, StaleReason};
use comic_vine_store::{DedupeConfig, Freshness};
use comic_vine_stub::StubApi;
use http::{HeaderMap, StatusCode};

use crate::{Answer, Driver, Stores, cooldown_config, cooldown_stub, generous_limits, stub};

/// A fresh table on the shared DynamoDB Local.
pub async fn fresh_table() -> TestTable {
    DynamoDbLocal::shared()
        .expect("DynamoDB Local should start (see scripts/dynamodb-local.sh)")
        .fresh_table()
        .await
        .expect("fresh table")
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

impl ProcessStores {
    /// The stores of a new process on `table`, its dedupe store configured by `dedupe`.
    pub fn new(table: &TestTable, dedupe: DedupeConfig) -> Self {
        Self::on(&process_table(table), dedupe)
    }

    /// The stores of a new process on `handle`, its dedupe store configured by `dedupe`.
    pub fn on(handle: &Table, dedupe: DedupeConfig) -> Self {
        let cache = Arc::new(DynamoDbCacheStore::new(handle));
        let dedupe = DynamoDbDedupeStore::builder(handle)
            .config(dedupe)
            .cache(Arc::clone(&cache))
            .build()
            .unwrap();
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
    let dedupe = DedupeConfig {
        poll_interval: Duration::from_millis(20),
        max_poll_interval: Duration::from_millis(100),
        ..DedupeConfig::default()
    };
    ProcessStores::on(handle, dedupe).stores()
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

/// Ten minutes of `stale-while-revalidate` and nothing else stale.
pub fn swr_config() -> PipelineConfig {
    PipelineConfig {
        stale: StalePolicy {
            stale_while_revalidate: STALE_WINDOW,
            ..StalePolicy::none()
        },
        ..PipelineConfig::default()
    }
}

/// How long [`store_stale_entry`]'s entry may be served stale.
const STALE_WINDOW: Duration = Duration::from_secs(600);

/// The body of [`store_stale_entry`]'s entry.
pub const STALE_BODY: &str = r#"{"stale":true}"#;

/// Stores [`STALE_BODY`] on `table` as the entry of a GET of `url`, stale already and
/// within [`swr_config`]'s window.
pub async fn store_stale_entry(table: &Table, url: &str) {
    let pipeline = stores_on(table).pipeline(swr_config());
    let uri: http::Uri = url.parse().unwrap();
    let hash = HttpPipeline::new(Arc::new(pipeline))
        .request_hash(&uri, &HeaderMap::new())
        .unwrap();
    let kept = vec![("content-type".to_owned(), "application/json".to_owned())];
    let value = CachedResponse::new(StatusCode::OK, kept, STALE_BODY.into());
    let stale = Freshness::fresh_for(Some(Duration::ZERO)).with_stale_for(STALE_WINDOW);
    stores_on(table)
        .cache
        .set_entry(&hash, &value, stale)
        .await
        .unwrap();
}

/// Asserts `answer` is [`store_stale_entry`]'s body, served stale while revalidating.
pub fn assert_served_stale_while_revalidating(answer: &Answer) {
    assert_eq!(answer.served_by, Some(ServedBy::Stale), "{answer:?}");
    let reason = answer.served.and_then(|s| s.stale);
    assert_eq!(reason, Some(StaleReason::WhileRevalidate));
    assert_eq!(answer.headers[SERVED_BY_HEADER], "stale");
    assert_eq!(answer.body, STALE_BODY);
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
    store_stale_entry(&process_table(&table), &url).await;

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

/// Asserts a GET of `url` through `client` is now a hit on the refreshed entry, and the
/// stub has seen only the one refresh.
pub async fn assert_refreshed<D: Driver>(client: &D::Client, url: &str, api: &StubApi) {
    let after = D::get(client, url).await.unwrap();
    assert_eq!(after.served_by, Some(ServedBy::Cache), "{after:?}");
    assert!(after.body.contains("\"results\""), "{}", after.body);
    assert_eq!(api.total_calls(), 1);
}

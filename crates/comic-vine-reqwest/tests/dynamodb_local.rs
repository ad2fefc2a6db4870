//! The middleware on the DynamoDB stores (DynamoDB Local, started by the `local`
//! harness or the one `DYNAMODB_ENDPOINT` names): every client stands for a process,
//! with its own DynamoDB client and store instances on one shared table.

mod support;

// The start gate and child processes of the dynamodb-store's fleet tests, shared as they are.
#[path = "../../comic-vine-dynamodb-store/tests/dynamodb_local/gate.rs"]
mod gate;
#[path = "dynamodb_local/processes.rs"]
mod processes;
#[path = "../../comic-vine-dynamodb-store/tests/dynamodb_local/reaped.rs"]
mod reaped;

use std::sync::Arc;
use std::time::Duration;

use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::{
    CircuitBreakerConfig, DynamoDbCacheStore, DynamoDbConfig, DynamoDbDedupeStore,
    DynamoDbRateLimitStore,
};
use comic_vine_reqwest::{CachedResponse, ResponseExt};
use comic_vine_store::pipeline::{
    OutageFallback, Pipeline, PipelineConfig, PipelineError, ServedBy,
};
use comic_vine_store::{DedupeConfig, RateLimit, RateLimitConfig};
use comic_vine_testkit::Stores;
use comic_vine_testkit::dynamodb::{ProcessStores, fresh_table};
use comic_vine_testkit::stub;
use support::Reqwest;

/// The DynamoDB Local this binary and its child processes share.
fn local() -> &'static comic_vine_dynamodb_store::local::DynamoDbLocal {
    comic_vine_dynamodb_store::local::DynamoDbLocal::shared().unwrap()
}

// The scenarios the tower layer runs too.
comic_vine_testkit::dynamodb_tests!(Reqwest);

#[tokio::test]
async fn a_miss_costs_five_dynamodb_requests_and_a_hit_one() {
    let table = fresh_table().await;
    let api = stub(Duration::ZERO).await;
    let process = ProcessStores::new(&table, DedupeConfig::default());
    let sent = || process.requests();
    let http = support::client(process.stores(), PipelineConfig::default());
    let url = |offset: u32| format!("{}/issues/?api_key=k&offset={offset}", api.url());
    // The first decision reads the limiter's item; a running process knows it already.
    http.get(url(0)).send().await.unwrap();

    let before = sent();
    let miss = http.get(url(100)).send().await.unwrap();
    assert_eq!(miss.served_by(), Some(ServedBy::Upstream));
    assert_eq!(
        sent() - before,
        5,
        "get, register_or_join, try_acquire, the job's completion, the cache entry"
    );
    let before = sent();
    let hit = http.get(url(100)).send().await.unwrap();
    assert_eq!(hit.served_by(), Some(ServedBy::Cache));
    assert_eq!(sent() - before, 1);
    assert_eq!(api.calls_to("issues"), 2);
}

#[tokio::test]
async fn with_dynamodb_unreachable_requests_are_served_within_this_process_share() {
    let api = stub(Duration::ZERO).await;
    let fleet = RateLimitConfig::new(RateLimit::new(10, Duration::from_secs(60)).unwrap());
    // Nobody listens on port 1: every request fails until each store's breaker opens.
    let handle = DynamoDbConfig::builder()
        .endpoint("http://127.0.0.1:1")
        .max_retries(0)
        .circuit_breaker(CircuitBreakerConfig {
            enabled: true,
            failure_threshold: 1,
            recovery_timeout: Duration::from_secs(60),
        })
        .build()
        .unwrap()
        .connect()
        .await
        .unwrap();
    let limiter = DynamoDbRateLimitStore::new(&handle);
    let pipeline = Pipeline::<CachedResponse>::builder()
        .cache(Arc::new(DynamoDbCacheStore::new(&handle)))
        .dedupe(Arc::new(DynamoDbDedupeStore::new(&handle)))
        .rate_limit(Arc::new(limiter.clone()))
        // Five processes share 10 per minute: 2 each while degraded.
        .outage_fallback(OutageFallback::share_of(&fleet, 5).unwrap())
        .config(PipelineConfig {
            max_wait: Duration::ZERO,
            ..PipelineConfig::default()
        })
        .build();
    let http = support::middleware_client(pipeline);

    let mut served = Vec::new();
    for offset in 0..5 {
        let url = format!("{}/issues/?api_key=k&offset={offset}", api.url());
        match http.get(url).send().await {
            Ok(response) => served.push(response.served().unwrap()),
            Err(reqwest_middleware::Error::Middleware(e)) => assert!(
                matches!(
                    e.downcast_ref::<PipelineError>(),
                    Some(PipelineError::WaitTooLong { resource, .. }) if resource == "issues"
                ),
                "{e:#}"
            ),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(served.len(), 2, "this process's share: {served:?}");
    assert!(
        served
            .iter()
            .all(|s| s.by == ServedBy::Upstream && s.degraded)
    );
    assert_eq!(
        api.calls_to("issues"),
        2,
        "refused requests never reach the API"
    );
    assert_eq!(
        limiter.circuit_status().state,
        comic_vine_dynamodb_store::CircuitState::Open
    );
}

/// The stub's hash of a request path (its bodies module): a path whose hash is a
/// multiple of 8 gets the big list (1,500 results).
fn stub_path_hash(path: &str) -> u64 {
    path.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[tokio::test]
async fn a_stale_entry_with_an_etag_is_revalidated_by_one_304_and_a_touch() {
    use comic_vine_stub::{StubApi, StubCaching, StubConfig};

    let table = fresh_table().await;
    // A finished job's result is joined for `result_grace` (10 s by default): past
    // max-age the repeat must not join the first request's job.
    let process = ProcessStores::new(
        &table,
        DedupeConfig {
            result_grace: Duration::from_millis(100),
            ..DedupeConfig::default()
        },
    );
    let (cache, dedupe) = (&process.cache, &process.dedupe);
    let stores = process.stores();
    let http = client_for(stores);
    let caching = StubCaching::full(Duration::from_secs(1));
    let stub_config = StubConfig {
        limit: 1000,
        ..StubConfig::default()
    };
    let api = StubApi::start_with_caching(stub_config, caching.clone())
        .await
        .unwrap();
    let offset = (0..)
        .find(|i| stub_path_hash(&format!("/api/issues/?offset={i}")).is_multiple_of(8))
        .unwrap();
    let url = format!("{}/issues/?offset={offset}", api.url());
    let writes = || cache.metrics().write_units + dedupe.metrics().write_units;

    let before_first = writes();
    let first = http.get(&url).send().await.unwrap();
    assert_eq!(first.served_by(), Some(ServedBy::Upstream));
    assert!(first.headers().contains_key("etag"));
    let body = first.bytes().await.unwrap();
    assert!(body.len() >= 300 * 1024, "{} bytes", body.len());
    let first_write = writes() - before_first;

    // The 304 brings a new header (kept: `content-language`), merged into the stored ones.
    api.set_caching(caching.with_header("content-language", "fr"));
    // Past max-age=1 (the DynamoDB stores run on the system clock).
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let counts = (
        api.full_requests(),
        api.conditional_requests(),
        api.not_modified(),
    );
    let before_touch = writes();
    let cache_before = cache.metrics();
    let again = http.get(&url).send().await.unwrap();
    assert_eq!(again.served_by(), Some(ServedBy::Revalidated));
    assert_eq!(again.headers()["x-served-by"], "revalidated");
    assert_eq!(again.headers()["content-language"], "fr");
    assert_eq!(
        again.bytes().await.unwrap(),
        body,
        "the body comes from the store"
    );
    assert_eq!(
        (
            api.full_requests(),
            api.conditional_requests(),
            api.not_modified()
        ),
        (counts.0, counts.1 + 1, counts.2 + 1),
        "one conditional request, answered 304"
    );
    let touch_write = writes() - before_touch;
    println!(
        "write units: first store {first_write}, revalidation {touch_write}; cache {:?}",
        cache.metrics()
    );
    // The 304 restamps the entry and replaces its headers with `touch_with_meta` (one
    // UpdateItem of the entry item) and ends the job with a small message instead of the
    // value. The value (~10 KB compressed) is over the cache's inline limit (8 KiB), so
    // it lives in chunks and the entry item is small: a touch of 1 or 2 WCU with the
    // headers, +1 for the dedupe job, where an inline entry's touch would be billed at
    // its whole size (20 units). Its chunks are not rewritten: the cache sent one write
    // (the read of the stale entry is the entry item and its chunks' Query).
    let cache_after = cache.metrics();
    let cache_touch = cache_after.write_units - cache_before.write_units;
    assert!(
        cache_touch <= 2.0,
        "the touch of the small entry item: {cache_touch}"
    );
    assert_eq!(
        cache_after.requests - cache_before.requests,
        3,
        "GetItem + Query of the chunks, then one UpdateItem: {cache_after:?}"
    );
    assert!(
        touch_write <= 3.0,
        "revalidation {touch_write} units (touch, the job's register and end) vs \
         {first_write} to store the value"
    );
    // Fresh again: the next request is a cache hit, no upstream request, with the
    // header the 304 brought.
    let third = http.get(&url).send().await.unwrap();
    assert_eq!(third.served_by(), Some(ServedBy::Cache));
    assert_eq!(third.headers()["content-language"], "fr");
    assert_eq!(api.conditional_requests(), counts.1 + 1);
}

fn client_for(stores: Stores) -> reqwest_middleware::ClientWithMiddleware {
    support::client(stores, PipelineConfig::default())
}

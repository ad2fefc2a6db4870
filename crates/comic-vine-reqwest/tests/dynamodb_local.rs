//! The middleware on the DynamoDB stores (DynamoDB Local, started by the `local`
//! harness or the one `DYNAMODB_ENDPOINT` names): every client stands for a process,
//! with its own DynamoDB client and store instances on one shared table.

mod support;

use std::sync::Arc;
use std::time::Duration;

use comic_vine_dynamodb_store::local::DynamoDbLocal;
use comic_vine_dynamodb_store::{
    CircuitBreakerConfig, DynamoDbCacheStore, DynamoDbConfig, DynamoDbDedupeStore,
    DynamoDbRateLimitStore, Table,
};
use comic_vine_reqwest::{CachedResponse, ResponseExt};
use comic_vine_store::pipeline::{
    OutageFallback, Pipeline, PipelineConfig, PipelineError, ServedBy,
};
use comic_vine_store::{RateLimit, RateLimitConfig};
use comic_vine_testkit::Stores;
use comic_vine_testkit::dynamodb::fresh_table;
use comic_vine_testkit::{generous_limits, stub};
use support::Reqwest;

// The scenarios the tower layer runs too.
comic_vine_testkit::dynamodb_tests!(Reqwest);

#[tokio::test]
async fn a_miss_costs_four_dynamodb_requests_and_a_hit_one() {
    let table = fresh_table().await;
    let api = stub(Duration::ZERO).await;
    let client = DynamoDbLocal::shared().unwrap().client();
    let config = DynamoDbConfig::builder()
        .table_name(table.name())
        .client(client.clone())
        .build()
        .unwrap();
    let handle = Table::new(client, config);
    // The dedupe store is built with the cache: one transaction per complete-and-cache.
    let cache = Arc::new(DynamoDbCacheStore::<CachedResponse>::new(&handle));
    let dedupe = DynamoDbDedupeStore::<CachedResponse>::builder(&handle)
        .cache(Arc::clone(&cache))
        .build()
        .unwrap();
    let limiter = DynamoDbRateLimitStore::builder(&handle)
        .limits(generous_limits())
        .build()
        .unwrap();
    let sent = || cache.metrics().requests + dedupe.metrics().requests + limiter.metrics().requests;
    let http = support::client(
        Stores {
            cache: cache.clone(),
            dedupe: Arc::new(dedupe.clone()),
            limiter: Arc::new(limiter.clone()),
        },
        PipelineConfig::default(),
    );
    let url = |offset: u32| format!("{}/issues/?api_key=k&offset={offset}", api.url());
    // The first decision reads the limiter's item; a running process knows it already.
    http.get(url(0)).send().await.unwrap();

    let before = sent();
    let miss = http.get(url(100)).send().await.unwrap();
    assert_eq!(miss.served_by(), Some(ServedBy::Upstream));
    assert_eq!(
        sent() - before,
        4,
        "get, register_or_join, try_acquire, complete-and-cache transaction"
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

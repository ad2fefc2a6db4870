//! The circuit breaker on real connection failures: a loopback port nobody listens on.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::{
    CircuitBreakerConfig, CircuitState, DynamoDbCacheStore, DynamoDbConfig,
};
use comic_vine_store::{CacheStore, ManualClock, StoreError, Timestamp};
use serde_json::Value;

#[tokio::test]
async fn opens_after_five_failures_fails_fast_and_tries_again_after_recovery() {
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    let table = DynamoDbConfig::builder()
        .endpoint("http://127.0.0.1:1")
        .max_retries(0)
        .operation_timeout(Duration::from_secs(5))
        .circuit_breaker(CircuitBreakerConfig {
            enabled: true,
            failure_threshold: 5,
            recovery_timeout: Duration::from_secs(60),
        })
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
        .connect()
        .await
        .unwrap();
    let cache: DynamoDbCacheStore<Value> = DynamoDbCacheStore::new(&table);
    for _ in 0..5 {
        let e = cache.get("k").await.unwrap_err();
        assert!(matches!(e, StoreError::Unavailable { .. }), "{e}");
        assert!(e.is_severe());
    }
    let status = cache.circuit_status();
    assert_eq!((status.state, status.failures), (CircuitState::Open, 5));
    assert!(status.last_failure.is_some());

    let before = cache.metrics();
    let e = cache.set("k", &Value::Null, None).await.unwrap_err();
    assert!(
        matches!(e, StoreError::CircuitBreakerOpen { retry_after } if retry_after == Duration::from_secs(60)),
        "{e}"
    );
    // No network while open: the operation never started (a refused connection counts
    // no request, so `requests` alone could not tell), and only the refusal is counted.
    let mut expected = before.clone();
    expected.errors.insert("circuit_breaker_open".to_owned(), 1);
    assert_eq!(cache.metrics(), expected, "no network while open");
    let requests_while_open = cache.metrics().requests;

    clock.advance(Duration::from_secs(60));
    assert_eq!(cache.circuit_status().state, CircuitState::HalfOpen);
    let trial = cache.get("k").await.unwrap_err();
    assert!(
        matches!(trial, StoreError::Unavailable { .. }),
        "the trial reaches the network: {trial}"
    );
    assert_eq!(
        cache.circuit_status().state,
        CircuitState::Open,
        "a failed trial reopens"
    );
    assert_eq!(cache.metrics().requests, requests_while_open);
    assert_eq!(cache.metrics().errors.get("circuit_breaker_open"), Some(&1));

    cache.reset_circuit();
    assert_eq!(cache.circuit_status().state, CircuitState::Closed);
    assert!(matches!(
        cache.get("k").await.unwrap_err(),
        StoreError::Unavailable { .. }
    ));
}

#[tokio::test]
async fn answers_about_the_request_never_open_it() {
    let backend = super::backend::DynamoBackend::fresh().await;
    let table = DynamoDbConfig::builder()
        .table_name("no-such-table")
        .client(backend.table.client().clone())
        .circuit_breaker(CircuitBreakerConfig {
            failure_threshold: 2,
            ..Default::default()
        })
        .build()
        .unwrap();
    let cache: DynamoDbCacheStore<Value> = DynamoDbCacheStore::new(
        &comic_vine_dynamodb_store::Table::new(backend.table.client().clone(), table),
    );
    for _ in 0..4 {
        assert!(matches!(
            cache.get("k").await.unwrap_err(),
            StoreError::TableNotFound { .. }
        ));
    }
    assert_eq!(cache.circuit_status().state, CircuitState::Closed);
}

#[tokio::test]
async fn every_store_reports_its_health() {
    use comic_vine_dynamodb_store::{
        DynamoDbAdaptiveRateLimitStore, DynamoDbDedupeStore, DynamoDbRateLimitStore,
    };
    let backend = super::backend::DynamoBackend::fresh().await;
    let table = backend
        .handle(&comic_vine_store::conformance::Setup::new())
        .unwrap();
    let healths = [
        DynamoDbDedupeStore::<Value>::new(&table)
            .health_check()
            .await
            .unwrap(),
        DynamoDbRateLimitStore::new(&table)
            .health_check()
            .await
            .unwrap(),
        DynamoDbAdaptiveRateLimitStore::new(&table)
            .unwrap()
            .health_check()
            .await
            .unwrap(),
    ];
    for h in &healths {
        assert!(h.healthy, "{}", h.detail);
        assert!(h.detail.contains(backend.table.name()), "{}", h.detail);
    }
    let gone = DynamoDbConfig::builder()
        .table_name("no-such-table")
        .client(backend.table.client().clone())
        .build()
        .unwrap();
    let limiter = DynamoDbRateLimitStore::new(&comic_vine_dynamodb_store::Table::new(
        backend.table.client().clone(),
        gone,
    ));
    let h = limiter.health_check().await.unwrap();
    assert!(!h.healthy);
    assert!(h.detail.contains("no-such-table"), "{}", h.detail);
}

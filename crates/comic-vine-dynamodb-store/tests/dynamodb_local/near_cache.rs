//! A near cache in front of the DynamoDB cache: near hits send no request (counted by
//! the store's metrics), another process's delete is seen at the max local age, the
//! byte bound holds, expired entries are never served, and the conformance suite.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use comic_vine_dynamodb_store::DynamoDbCacheStore;
use comic_vine_dynamodb_store::StoreControls;
use comic_vine_store::cache::NearCache;
use comic_vine_store::conformance::{CacheBackend, Setup};
use comic_vine_store::{CacheStore, DedupeConfig, StoreResult};
use serde_json::{Value, json};

use super::backend::DynamoBackend;
use super::stores::cache_and_dedupe;

const AGE: Duration = Duration::from_secs(5);
const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

/// Every factory call a new "process": a near cache over a new store on the table.
struct NearDynamo(DynamoBackend);

#[async_trait]
impl CacheBackend for NearDynamo {
    async fn cache(&self, setup: &Setup) -> StoreResult<Arc<dyn CacheStore<Value>>> {
        let store: DynamoDbCacheStore<Value> = DynamoDbCacheStore::new(&self.0.handle(setup)?);
        let near = NearCache::builder(store)
            .clock(setup.store_clock())
            .build()?;
        Ok(Arc::new(near))
    }
}

mod conformance {
    use super::*;
    comic_vine_store::cache_conformance_tests!(async { NearDynamo(DynamoBackend::fresh().await) });
}

fn near(
    setup: &Setup,
    store: &DynamoDbCacheStore<Value>,
    max_bytes: u64,
) -> NearCache<DynamoDbCacheStore<Value>> {
    NearCache::builder(store.clone())
        .max_bytes(max_bytes)
        .max_local_age(AGE)
        .clock(setup.store_clock())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_near_hit_sends_no_request() {
    let backend = DynamoBackend::fresh().await;
    let setup = Setup::new();
    let store = DynamoDbCacheStore::new(&backend.handle(&setup).unwrap());
    let near = near(&setup, &store, 64 << 20);
    near.set("k", &json!({"id": 1}), HOUR).await.unwrap();
    let before = store.metrics();
    assert_eq!(near.get("k").await.unwrap(), Some(json!({"id": 1})));
    let filled = store.metrics();
    assert_eq!(
        filled.requests - before.requests,
        1,
        "the first read: one GetItem"
    );
    for _ in 0..10 {
        assert_eq!(near.get("k").await.unwrap(), Some(json!({"id": 1})));
    }
    let after = store.metrics();
    assert_eq!(after.requests, filled.requests, "ten near hits: no request");
    assert_eq!(after.read_units, filled.read_units);
}

#[tokio::test]
async fn another_process_delete_is_seen_within_the_max_local_age() {
    let backend = DynamoBackend::fresh().await;
    let setup = Setup::new();
    let store = DynamoDbCacheStore::new(&backend.handle(&setup).unwrap());
    let other: DynamoDbCacheStore<Value> =
        DynamoDbCacheStore::new(&backend.handle(&setup).unwrap());
    let near = near(&setup, &store, 64 << 20);
    near.set("k", &json!("v1"), HOUR).await.unwrap();
    assert_eq!(near.get("k").await.unwrap(), Some(json!("v1")));
    other.delete("k").await.unwrap();
    setup.clock.advance(AGE - Duration::from_millis(1));
    assert_eq!(
        near.get("k").await.unwrap(),
        Some(json!("v1")),
        "the documented limit"
    );
    setup.clock.advance(Duration::from_millis(1));
    assert_eq!(
        near.get("k").await.unwrap(),
        None,
        "seen at the max local age"
    );
    // A purge (clear) by the other process, the same way.
    near.set("a", &json!("a"), HOUR).await.unwrap();
    near.get("a").await.unwrap();
    assert_eq!(other.clear().await.unwrap(), 1);
    setup.clock.advance(AGE);
    assert_eq!(near.get("a").await.unwrap(), None);
}

#[tokio::test]
async fn the_byte_bound_holds_and_expired_entries_are_never_served() {
    let backend = DynamoBackend::fresh().await;
    let setup = Setup::new();
    let store = DynamoDbCacheStore::new(&backend.handle(&setup).unwrap());
    let near = near(&setup, &store, 4_000);
    let big = json!("x".repeat(1_000));
    for i in 0..10 {
        near.set(&format!("k{i}"), &big, HOUR).await.unwrap();
        near.get(&format!("k{i}")).await.unwrap();
    }
    let stats = near.local_stats().await;
    assert!(
        stats.weighted_bytes <= 4_000 && (1..=3).contains(&stats.entries),
        "{stats:?}"
    );
    let before = store.metrics().requests;
    for i in 0..10 {
        assert_eq!(near.get(&format!("k{i}")).await.unwrap(), Some(big.clone()));
    }
    assert!(
        store.metrics().requests - before >= 7,
        "evicted entries are read again"
    );

    near.set("short", &json!("s"), Some(Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(near.get("short").await.unwrap(), Some(json!("s")));
    setup.clock.advance(Duration::from_secs(2));
    assert_eq!(
        near.get("short").await.unwrap(),
        None,
        "expired before the max local age"
    );
}

/// The pipeline over a near cache: a miss still costs 5 requests (the dedupe store is
/// built with the shared cache behind the near cache and writes entry and completion in
/// the value written once), the first hit one GetItem, and later hits none.
#[tokio::test]
async fn the_pipeline_over_a_near_cache_sends_nothing_for_repeated_hits() {
    use comic_vine_dynamodb_store::DynamoDbRateLimitStore;
    use comic_vine_store::pipeline::{Pipeline, Request, ServedBy};

    let backend = DynamoBackend::fresh().await;
    let table = backend.handle(&Setup::new()).unwrap();
    let (cache, dedupe) = cache_and_dedupe(&table, DedupeConfig::default());
    let limiter = DynamoDbRateLimitStore::new(&table);
    let near = NearCache::builder(Arc::clone(&cache)).build().unwrap();
    let pipeline: Pipeline<Value> = Pipeline::builder()
        .cache(Arc::new(near))
        .dedupe(Arc::new(dedupe.clone()))
        .rate_limit(Arc::new(limiter.clone()))
        .build();
    let sent = || cache.metrics().requests + dedupe.metrics().requests + limiter.metrics().requests;
    let warm = Request::new("issues/list", json!({"offset": 0}), "issues");
    pipeline
        .execute(&warm, || async { Ok(json!(0)) })
        .await
        .unwrap();

    let request = Request::new("issues/list", json!({"offset": 100}), "issues");
    let before = sent();
    let miss = pipeline
        .execute(&request, || async { Ok(json!([1])) })
        .await
        .unwrap();
    assert_eq!(miss.served_by, ServedBy::Upstream);
    assert_eq!(
        sent() - before,
        5,
        "get, register, acquire, completion, entry"
    );
    let before = sent();
    for i in 0..5 {
        let hit = pipeline
            .execute(&request, || async { Ok(json!("not called")) })
            .await
            .unwrap();
        assert_eq!((hit.served_by, hit.value), (ServedBy::Cache, json!([1])));
        assert_eq!(sent() - before, 1, "after hit {i}: the first GetItem only");
    }
}

//! The request pipeline on the DynamoDB stores: what a miss and a hit cost.

use std::sync::Arc;

use comic_vine_dynamodb_store::{DynamoDbCacheStore, DynamoDbDedupeStore, DynamoDbRateLimitStore};
use comic_vine_store::conformance::Setup;
use comic_vine_store::pipeline::{Pipeline, Request, ServedBy};
use serde_json::{Value, json};

use super::backend::DynamoBackend;

#[tokio::test]
async fn a_miss_costs_five_requests_and_a_hit_one() {
    let backend = DynamoBackend::fresh().await;
    let table = backend.handle(&Setup::new()).unwrap();
    let cache = DynamoDbCacheStore::<Value>::new(&table);
    let dedupe = DynamoDbDedupeStore::<Value>::new(&table);
    let limiter = DynamoDbRateLimitStore::new(&table);
    let pipeline = Pipeline::<Value>::builder()
        .cache(Arc::new(cache.clone()))
        .dedupe(Arc::new(dedupe.clone()))
        .rate_limit(Arc::new(limiter.clone()))
        .build();
    let requests =
        || cache.metrics().requests + dedupe.metrics().requests + limiter.metrics().requests;

    // Warm the limiter's knowledge of the window, as a running process has it.
    let warm = Request::new("issues/list", json!({"offset": 0}), "issues");
    pipeline
        .execute(&warm, || async { Ok(json!(0)) })
        .await
        .unwrap();

    let before = requests();
    let request = Request::new("issues/list", json!({"offset": 100}), "issues");
    let miss = pipeline
        .execute(&request, || async { Ok(json!({"results": [1]})) })
        .await
        .unwrap();
    assert_eq!(miss.served_by, ServedBy::Upstream);
    let miss_cost = requests() - before;
    // cache get, register_or_join, try_acquire, cache set, complete.
    assert_eq!(miss_cost, 5);

    let before = requests();
    let hit = pipeline
        .execute(&request, || async { Ok(json!("not called")) })
        .await
        .unwrap();
    assert_eq!(
        (hit.served_by, hit.value),
        (ServedBy::Cache, json!({"results": [1]}))
    );
    assert_eq!(requests() - before, 1, "a hit is one GetItem");
}

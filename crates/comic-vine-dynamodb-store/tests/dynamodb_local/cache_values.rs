//! The DynamoDB cache with real Comic Vine-sized values: multi-megabyte round trips,
//! concurrent writers of one big key, `clear` scope, and the units each operation costs.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::AttributeValue;
use comic_vine_dynamodb_store::{DynamoDbCacheStore, MetricsSnapshot, PK, SK, keys};
use comic_vine_store::conformance::Setup;
use comic_vine_store::{CacheStore, StoreError};
use serde_json::{Value, json};

use super::backend::DynamoBackend;

const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

/// A Comic Vine list response of about `bytes` bytes of JSON; `tag` marks every result.
fn comic_vine_list(bytes: usize, tag: u64) -> Value {
    let mut seed = tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        format!("{seed:016x}")
    };
    let mut results = Vec::new();
    let mut size = 0;
    while size < bytes {
        let result = json!({
            "id": results.len(), "tag": tag,
            "name": format!("Issue #{} {}", results.len(), noise()),
            "deck": format!("{} {} {}", noise(), noise(), noise()),
            "api_detail_url": format!("https://comicvine.gamespot.com/api/issue/4000-{}/", results.len()),
            "image": {"original_url": format!("https://comicvine.gamespot.com/a/uploads/original/{}.jpg", noise())},
            "date_added": "2008-06-06 11:10:16",
        });
        size += result.to_string().len();
        results.push(result);
    }
    json!({"error": "OK", "limit": 100, "offset": 0, "number_of_page_results": results.len(),
           "number_of_total_results": results.len(), "status_code": 1, "results": results})
}

async fn store(backend: &DynamoBackend) -> DynamoDbCacheStore<Value> {
    backend.cache_store(&Setup::new()).unwrap()
}

async fn chunk_items(backend: &DynamoBackend, hash: &str) -> usize {
    backend.items_in(keys::cache_chunk_pk(hash)).await
}

#[tokio::test]
async fn three_megabyte_value_round_trips_byte_for_byte() {
    let backend = DynamoBackend::fresh().await;
    let cache = store(&backend).await;
    let value = comic_vine_list(3 * 1024 * 1024, 1);
    let bytes = serde_json::to_vec(&value).unwrap();
    assert!(bytes.len() > 3 * 1024 * 1024);
    cache.set("team-list", &value, HOUR).await.unwrap();
    assert!(
        chunk_items(&backend, "team-list").await >= 2,
        "stored in chunks"
    );
    let back = cache.get("team-list").await.unwrap().expect("a hit");
    assert_eq!(serde_json::to_vec(&back).unwrap(), bytes);

    // Replacing it with a small value removes the chunks; so does delete.
    cache
        .set("team-list", &json!({"small": true}), HOUR)
        .await
        .unwrap();
    assert_eq!(
        cache.get("team-list").await.unwrap(),
        Some(json!({"small": true})),
        "the write refused for naming chunks was sent again"
    );
    assert_eq!(chunk_items(&backend, "team-list").await, 0);
    assert_eq!(
        cache.stats().await.unwrap().orphan_chunks,
        0,
        "chunk-set item gone too"
    );
    cache.set("team-list", &value, HOUR).await.unwrap();
    cache.delete("team-list").await.unwrap();
    assert_eq!(chunk_items(&backend, "team-list").await, 0);
    assert_eq!(cache.get("team-list").await.unwrap(), None);
}

#[tokio::test]
async fn concurrent_writers_of_one_big_key_never_yield_a_mixed_read() {
    let backend = Arc::new(DynamoBackend::fresh().await);
    let values: Arc<Vec<Value>> =
        Arc::new((0..3).map(|tag| comic_vine_list(1_200_000, tag)).collect());
    let mut tasks = Vec::new();
    for writer in 0..3 {
        let (backend, values) = (Arc::clone(&backend), Arc::clone(&values));
        tasks.push(tokio::spawn(async move {
            let cache = store(&backend).await;
            for round in 0..3 {
                cache
                    .set("contended", &values[(writer + round) % 3], HOUR)
                    .await
                    .unwrap();
            }
            0
        }));
    }
    for _ in 0..2 {
        let (backend, values) = (Arc::clone(&backend), Arc::clone(&values));
        tasks.push(tokio::spawn(async move {
            let cache = store(&backend).await;
            let mut reads = 0;
            for _ in 0..8 {
                if let Some(v) = cache.get("contended").await.unwrap() {
                    assert!(values.contains(&v), "a read mixed two writes");
                    reads += 1;
                }
            }
            reads
        }));
    }
    let mut reads = 0;
    for t in tasks {
        reads += t.await.unwrap();
    }
    assert!(reads > 0, "readers saw some value");
    let last = store(&backend)
        .await
        .get("contended")
        .await
        .unwrap()
        .unwrap();
    assert!(values.contains(&last));
}

#[tokio::test]
async fn clear_removes_cache_entries_only() {
    let backend = DynamoBackend::fresh().await;
    let cache = store(&backend).await;
    for (pk, sk) in [
        ("RATELIMIT#issues", "STATE"),
        ("DEDUPE#abc", "JOB"),
        ("OTHER#x", "y"),
    ] {
        backend
            .table
            .client()
            .put_item()
            .table_name(backend.table.name())
            .item(PK, AttributeValue::S(pk.into()))
            .item(SK, AttributeValue::S(sk.into()))
            .send()
            .await
            .unwrap();
    }
    for i in 0..30 {
        cache
            .set(&format!("entry-{i}"), &json!(i), HOUR)
            .await
            .unwrap();
    }
    cache
        .set("big", &comic_vine_list(1_500_000, 9), HOUR)
        .await
        .unwrap();
    assert_eq!(cache.clear().await.unwrap(), 31);
    assert_eq!(chunk_items(&backend, "big").await, 0, "chunks cleared too");
    let left = backend
        .table
        .client()
        .scan()
        .table_name(backend.table.name())
        .send()
        .await
        .unwrap();
    let mut keys: Vec<String> = left
        .items()
        .iter()
        .map(|i| i[PK].as_s().unwrap().clone())
        .collect();
    keys.sort();
    assert_eq!(keys, ["DEDUPE#abc", "OTHER#x", "RATELIMIT#issues"]);
}

/// What `cache` sent since `before`: (requests, write units, read units).
fn cost_since(cache: &DynamoDbCacheStore<Value>, before: &MetricsSnapshot) -> (u64, f64, f64) {
    let after = cache.metrics();
    (
        after.requests - before.requests,
        after.write_units - before.write_units,
        after.read_units - before.read_units,
    )
}

#[tokio::test]
async fn units_per_operation() {
    let backend = DynamoBackend::fresh().await;
    let cache = store(&backend).await;
    let one_kb = json!({"results": [{"id": 1, "name": "x".repeat(1_000)}]});
    let before = cache.metrics();
    cache.set("one-kb", &one_kb, HOUR).await.unwrap();
    let (requests, wcu, _) = cost_since(&cache, &before);
    assert_eq!((requests, wcu), (1, 1.0), "1 KB set = 1 WCU");
    let before = cache.metrics();
    cache.set("one-kb", &one_kb, HOUR).await.unwrap();
    let (requests, wcu, _) = cost_since(&cache, &before);
    assert_eq!(
        (requests, wcu),
        (1, 1.0),
        "replacing an inline entry is one PutItem too"
    );

    // 20 KB of realistic JSON: no more units than its compressed size in KB, plus one.
    let twenty_kb = comic_vine_list(20 * 1024, 3);
    let compressed_kb = zstd_len(&twenty_kb).div_ceil(1024) as f64;
    let before = cache.metrics();
    cache.set("twenty-kb", &twenty_kb, HOUR).await.unwrap();
    let (_, wcu, _) = cost_since(&cache, &before);
    assert!(
        wcu <= compressed_kb + 1.0,
        "{wcu} WCU for {compressed_kb} KB compressed"
    );

    let before = cache.metrics();
    assert!(cache.get("one-kb").await.unwrap().is_some());
    let (requests, _, rcu) = cost_since(&cache, &before);
    assert_eq!((requests, rcu), (1, 1.0), "a hit is one request of 1 RCU");
    let before = cache.metrics();
    assert!(cache.get("missing").await.unwrap().is_none());
    assert_eq!(cost_since(&cache, &before).0, 1, "a miss is one request");
}

#[tokio::test]
async fn eventually_consistent_gets_cost_half_a_read_unit() {
    let (_backend, handle) = DynamoBackend::fresh_handle().await;
    let cache: DynamoDbCacheStore<Value> = DynamoDbCacheStore::builder(&handle)
        .eventually_consistent_reads(true)
        .build()
        .unwrap();
    let one_kb = json!({"results": [{"id": 1, "name": "x".repeat(1_000)}]});
    cache.set("one-kb", &one_kb, HOUR).await.unwrap();
    let before = cache.metrics();
    assert_eq!(cache.get("one-kb").await.unwrap(), Some(one_kb));
    let (requests, _, rcu) = cost_since(&cache, &before);
    assert_eq!((requests, rcu), (1, 0.5), "half the strong read's 1 RCU");
    let before = cache.metrics();
    assert!(cache.get("missing").await.unwrap().is_none());
    assert_eq!(cost_since(&cache, &before).2, 0.5);
}

fn zstd_len(v: &Value) -> usize {
    zstd::bulk::compress(&serde_json::to_vec(v).unwrap(), 3)
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_missing_table_is_a_typed_error_naming_it() {
    let backend = DynamoBackend::fresh().await;
    let handle = comic_vine_dynamodb_store::DynamoDbConfig::builder()
        .table_name("no-such-table")
        .client(backend.table.client().clone())
        .build()
        .unwrap();
    let table = comic_vine_dynamodb_store::Table::new(backend.table.client().clone(), handle);
    let cache: DynamoDbCacheStore<Value> = DynamoDbCacheStore::new(&table);
    let e = cache.get("k").await.unwrap_err();
    assert!(
        matches!(e, StoreError::TableNotFound { ref table } if table == "no-such-table"),
        "{e}"
    );
    assert_eq!(e.to_string(), "table `no-such-table` not found");
    let health = StoreControls::health_check(&cache).await.unwrap();
    assert!(!health.healthy);
    assert_eq!(cache.metrics().errors.get("table_not_found"), Some(&2));
}

#[tokio::test]
async fn periodic_cleanup_removes_expired_entries_and_stops_when_the_store_is_dropped() {
    let setup = Setup::new();
    let (_backend, table) = DynamoBackend::fresh_handle_with(&setup).await;
    let cache: DynamoDbCacheStore<Value> = DynamoDbCacheStore::builder(&table)
        .cleanup_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    let other: DynamoDbCacheStore<Value> = DynamoDbCacheStore::new(&table);
    let short = Some(Duration::from_secs(10));
    for i in 0..3 {
        cache
            .set(&format!("short-{i}"), &json!(i), short)
            .await
            .unwrap();
    }
    cache.set("long", &json!("kept"), HOUR).await.unwrap();
    setup.clock.advance(Duration::from_secs(60));
    // Wait (bounded) for a run; no assertion on how long it took.
    let mut waited = 0;
    while cache.metrics().expired_removed < 3 {
        assert!(
            waited < 300,
            "no periodic cleanup ran: {:?}",
            cache.metrics()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let stats = other.stats().await.unwrap();
    assert_eq!((stats.entries, stats.expired_entries), (1, 0));
    assert_eq!(cache.metrics().expired_removed, 3, "counted once");

    drop(cache);
    other
        .set("short-after-drop", &json!(1), short)
        .await
        .unwrap();
    setup.clock.advance(Duration::from_secs(60));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        other.stats().await.unwrap().expired_entries,
        1,
        "no run after the store was dropped"
    );
    assert!(
        DynamoDbCacheStore::<Value>::builder(&table)
            .cleanup_interval(Duration::ZERO)
            .build()
            .is_err()
    );
}

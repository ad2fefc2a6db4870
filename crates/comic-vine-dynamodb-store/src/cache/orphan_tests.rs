//! Orphaned chunks on DynamoDB Local: a writer that dies between its chunks and its
//! entry is reproduced exactly by preparing an entry (chunk-set item and chunks written)
//! and never putting it.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use comic_vine_store::{CacheStore, Clock, EntryTimes, ManualClock};
use serde_json::{Value, json};

use super::DynamoDbCacheStore;
use super::maintenance::ORPHAN_GRACE;
use crate::local::{DynamoDbLocal, TestTable};
use crate::table::PK;
use crate::{DynamoDbConfig, StoreControls, Table, keys};

const HOUR: Duration = Duration::from_secs(3600);

async fn rig() -> (TestTable, ManualClock, DynamoDbCacheStore<Value>) {
    let local = DynamoDbLocal::shared().expect("DynamoDB Local");
    let test_table = local.fresh_table().await.unwrap();
    let clock = ManualClock::starting_now();
    let config = DynamoDbConfig::builder()
        .table_name(test_table.name())
        .client(test_table.client().clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let cache = DynamoDbCacheStore::new(&Table::new(test_table.client().clone(), config));
    (test_table, clock, cache)
}

/// About `len` bytes of JSON that zstd halves at best: 2 or more chunks.
fn noisy_json(len: usize, mut seed: u64) -> Vec<u8> {
    let mut s = String::with_capacity(len + 2);
    s.push('"');
    while s.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        s.push_str(&format!("{seed:016x}"));
    }
    s.push('"');
    s.into_bytes()
}

async fn chunk_items(t: &TestTable, hash: &str) -> i32 {
    t.client()
        .query()
        .table_name(t.name())
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":pk", AttributeValue::S(keys::cache_chunk_pk(hash)))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .count
}

/// Writes the chunks of `hash` as a writer would, then "dies" before its entry.
async fn orphan(cache: &DynamoDbCacheStore<Value>, clock: &ManualClock, hash: &str) -> u64 {
    let now = clock.now();
    let prepared = cache
        .entries()
        .prepare_entry(
            hash,
            noisy_json(1_200_000, 7),
            EntryTimes::ordered(now, now.saturating_add(HOUR), now.saturating_add(HOUR)),
            cache.inline_limit(),
        )
        .await
        .unwrap();
    assert!(prepared.version.is_some(), "chunked");
    u64::from(
        super::entry::Entries::chunks_of(hash, &prepared.item)
            .unwrap()
            .unwrap()
            .1,
    )
}

#[tokio::test]
async fn orphaned_chunks_are_counted_kept_while_young_then_removed_by_cleanup() {
    let (t, clock, cache) = rig().await;
    cache
        .set("live", &json!({"id": 1}), Some(HOUR))
        .await
        .unwrap();
    let count = orphan(&cache, &clock, "killed-writer").await;
    assert!(count >= 2, "{count} chunks");
    assert_eq!(chunk_items(&t, "killed-writer").await as u64, count);

    let stats = cache.stats().await.unwrap();
    assert_eq!((stats.entries, stats.orphan_chunks), (1, count));
    assert!(stats.orphan_bytes > 350 * 1024, "{stats:?}");
    assert!(
        stats.approximate_bytes < 1_000,
        "entries' bytes only: {stats:?}"
    );

    // Young: perhaps a writer still writing; cleanup leaves them.
    clock.advance(ORPHAN_GRACE - Duration::from_secs(1));
    assert_eq!(cache.cleanup().await.unwrap(), 0);
    assert_eq!(chunk_items(&t, "killed-writer").await as u64, count);

    clock.advance(Duration::from_secs(1));
    assert_eq!(cache.cleanup().await.unwrap(), 0, "no entry expired");
    assert_eq!(chunk_items(&t, "killed-writer").await, 0, "orphans removed");
    let stats = cache.stats().await.unwrap();
    assert_eq!(
        (stats.entries, stats.orphan_chunks, stats.orphan_bytes),
        (1, 0, 0)
    );
    assert_eq!(cache.metrics().orphan_chunks_removed, count);
    assert_eq!(cache.get("live").await.unwrap(), Some(json!({"id": 1})));
}

#[tokio::test]
async fn clear_removes_orphans_of_any_age_and_live_chunked_values_are_no_orphans() {
    let (t, clock, cache) = rig().await;
    let big: Value = serde_json::from_slice(&noisy_json(1_000_000, 3)).unwrap();
    cache.set("big", &big, Some(HOUR)).await.unwrap();
    assert!(chunk_items(&t, "big").await >= 2);
    let count = orphan(&cache, &clock, "just-now").await;

    // The live value's chunks are its entry's, not orphans, at any age.
    clock.advance(ORPHAN_GRACE * 2);
    let stats = cache.stats().await.unwrap();
    assert_eq!((stats.entries, stats.orphan_chunks), (1, count));
    assert!(
        stats.approximate_bytes > 350 * 1024,
        "chunks of entries count: {stats:?}"
    );
    cache.cleanup().await.unwrap();
    assert_eq!(cache.get("big").await.unwrap(), Some(big));
    assert_eq!(cache.stats().await.unwrap().orphan_chunks, 0);

    let fresh = orphan(&cache, &clock, "fresh").await;
    assert_eq!(cache.stats().await.unwrap().orphan_chunks, fresh);
    assert_eq!(cache.clear().await.unwrap(), 1, "entries counted");
    for hash in ["big", "fresh", "just-now"] {
        assert_eq!(chunk_items(&t, hash).await, 0, "{hash}");
    }
    assert_eq!(
        cache.stats().await.unwrap(),
        comic_vine_store::CacheStats::default()
    );
}

//! Values of every size up to the core's limit, stored as their exact JSON bytes, and
//! SQLite calls that never block the async runtime.

use std::time::Duration;

use comic_vine_sqlite_store::{SqliteCacheStore, SqliteStore};
use comic_vine_store::{CacheStore, MAX_VALUE_BYTES, StoreError};
use proptest::prelude::*;
use rusqlite::Connection;
use serde_json::{Value, json};
use tempfile::TempDir;

async fn fresh() -> (TempDir, SqliteCacheStore) {
    let dir = TempDir::new().unwrap();
    let db = SqliteStore::open(dir.path().join("store.db"))
        .await
        .unwrap();
    (dir, SqliteCacheStore::new(&db))
}

fn raw_value(dir: &TempDir, key: &str) -> Vec<u8> {
    let raw = Connection::open(dir.path().join("store.db")).unwrap();
    raw.query_row(
        "SELECT value FROM cache_entries WHERE key = ?1",
        [key],
        |r| r.get(0),
    )
    .unwrap()
}

/// A JSON value whose serialization is exactly `len` bytes: `{"s":"xxx…"}`.
fn value_of_len(len: usize) -> Value {
    json!({ "s": "x".repeat(len - 8) })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_up_to_the_limit_round_trip_and_larger_are_refused() {
    let (dir, cache) = fresh().await;
    let at_limit = value_of_len(MAX_VALUE_BYTES);
    assert_eq!(
        serde_json::to_vec(&at_limit).unwrap().len(),
        MAX_VALUE_BYTES
    );
    cache.set("big", &at_limit, None).await.unwrap();
    assert_eq!(cache.get("big").await.unwrap(), Some(at_limit.clone()));

    let over = value_of_len(MAX_VALUE_BYTES + 1);
    match cache.set("big", &over, None).await {
        Err(StoreError::ItemTooLarge { key, size, limit }) => {
            assert_eq!(
                (key.as_str(), size, limit),
                ("big", MAX_VALUE_BYTES + 1, MAX_VALUE_BYTES)
            );
        }
        other => panic!("expected ItemTooLarge, got {other:?}"),
    }
    assert_eq!(
        raw_value(&dir, "big").len(),
        MAX_VALUE_BYTES,
        "old value intact"
    );
    assert_eq!(cache.get("big").await.unwrap(), Some(at_limit));
}

#[tokio::test]
async fn the_stored_bytes_are_the_serde_json_bytes() {
    let (dir, cache) = fresh().await;
    let value = json!({"z": 1, "a": [1.5, -0.0, 1e300], "é": "日本\u{1F600}", "n": null});
    cache.set("exact", &value, None).await.unwrap();
    assert_eq!(
        raw_value(&dir, "exact"),
        serde_json::to_vec(&value).unwrap()
    );
}

#[tokio::test]
async fn a_value_that_no_longer_deserializes_is_corrupt_not_a_panic() {
    let (dir, cache) = fresh().await;
    cache.set("k", &json!(1), None).await.unwrap();
    let raw = Connection::open(dir.path().join("store.db")).unwrap();
    raw.execute(
        "UPDATE cache_entries SET value = x'7b7b' WHERE key = 'k'",
        [],
    )
    .unwrap();
    let e = cache.get("k").await.unwrap_err();
    assert!(
        matches!(e, StoreError::Corrupt { ref key, .. } if key == "k"),
        "{e}"
    );
}

/// On a one-thread runtime, a `set` waiting for another process's write lock leaves
/// the thread free: the task that releases the lock runs meanwhile, so the `set`
/// succeeds instead of timing out.
#[tokio::test(flavor = "current_thread")]
async fn a_call_waiting_for_a_lock_does_not_block_the_runtime() {
    let (_dir, path, cache) = crate::cache_with_busy_timeout(Duration::from_secs(30)).await;
    let writer = Connection::open(&path).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let set = tokio::spawn({
        let cache = cache.clone();
        async move { cache.set("k", &json!("v"), None).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!set.is_finished(), "the set waits for the lock");
    writer.execute_batch("COMMIT").unwrap();
    set.await.unwrap().unwrap();
    assert_eq!(cache.get("k").await.unwrap(), Some(json!("v")));
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // Short decimals: serde_json (without `float_roundtrip`) parses these exactly.
        (any::<i32>(), 0..5u32).prop_map(|(m, e)| Value::from(f64::from(m) / 10f64.powi(e as i32))),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random JSON values under random keys round-trip exactly, byte for byte.
    #[test]
    fn random_values_round_trip(
        entries in prop::collection::vec(("[a-z0-9/:?=&é日]{1,40}", json_value()), 1..6)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (dir, cache) = fresh().await;
            let mut expected = std::collections::HashMap::new();
            for (key, value) in &entries {
                cache.set(key, value, None).await.unwrap();
                expected.insert(key.clone(), value.clone());
            }
            for (key, value) in &expected {
                let read = cache.get(key).await.unwrap();
                prop_assert_eq!(read.as_ref(), Some(value));
                prop_assert_eq!(raw_value(&dir, key), serde_json::to_vec(value).unwrap());
            }
            prop_assert_eq!(cache.stats().await.unwrap().entries, expected.len() as u64);
            Ok(())
        })?;
    }
}

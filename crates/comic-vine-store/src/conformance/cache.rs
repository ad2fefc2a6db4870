//! Cache cases.

use std::time::Duration;

use serde_json::{Value, json};

use super::{CacheBackend, Setup, new_cache};
use crate::cache::{CacheStore, MAX_VALUE_BYTES};
use crate::error::StoreError;

const MINUTE: Duration = Duration::from_secs(60);

/// Sets each (key, value) of `entries` with `ttl`.
async fn set_all(
    cache: &dyn CacheStore<Value>,
    entries: impl IntoIterator<Item = (String, Value)>,
    ttl: Duration,
) {
    for (key, value) in entries {
        cache.set(&key, &value, Some(ttl)).await.unwrap();
    }
}

/// Values of several shapes round-trip; a set replaces; a missing key is `None`.
pub async fn cache_round_trip(b: &impl CacheBackend) {
    let (setup, cache) = new_cache(b).await;
    let value = json!({"results": [{"id": 1, "name": "Batman", "aliases": ["Bruce"]}], "é": "日本", "n": null});
    cache.set("round-trip", &value, Some(MINUTE)).await.unwrap();
    assert_eq!(cache.get("round-trip").await.unwrap(), Some(value));
    cache
        .set("round-trip", &json!(2), Some(MINUTE))
        .await
        .unwrap();
    assert_eq!(cache.get("round-trip").await.unwrap(), Some(json!(2)));
    assert_eq!(cache.get("never-set").await.unwrap(), None);
    cache.set("default-ttl", &json!("x"), None).await.unwrap();
    setup
        .clock
        .advance(setup.cache.default_ttl - Duration::from_secs(1));
    assert_eq!(cache.get("default-ttl").await.unwrap(), Some(json!("x")));
    setup.clock.advance(Duration::from_secs(1));
    assert_eq!(cache.get("default-ttl").await.unwrap(), None);
}

/// An entry is returned until its TTL has passed and never after.
pub async fn cache_ttl_expiry(b: &impl CacheBackend) {
    let (setup, cache) = new_cache(b).await;
    cache
        .set("ttl", &json!("v"), Some(Duration::from_secs(10)))
        .await
        .unwrap();
    setup.clock.advance(Duration::from_millis(9_000));
    assert_eq!(cache.get("ttl").await.unwrap(), Some(json!("v")));
    setup.clock.advance(Duration::from_millis(1_000));
    assert_eq!(
        cache.get("ttl").await.unwrap(),
        None,
        "expired at exactly its TTL"
    );
}

/// A TTL of zero stores nothing and removes the previous value.
pub async fn cache_zero_ttl_removes(b: &impl CacheBackend) {
    let (_setup, cache) = new_cache(b).await;
    cache.set("zero", &json!(1), Some(MINUTE)).await.unwrap();
    cache
        .set("zero", &json!(2), Some(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(cache.get("zero").await.unwrap(), None);
}

/// `delete` removes one entry only.
pub async fn cache_delete(b: &impl CacheBackend) {
    let (_setup, cache) = new_cache(b).await;
    cache.set("a", &json!("a"), Some(MINUTE)).await.unwrap();
    cache.set("b", &json!("b"), Some(MINUTE)).await.unwrap();
    cache.delete("a").await.unwrap();
    cache.delete("not-there").await.unwrap();
    assert_eq!(cache.get("a").await.unwrap(), None);
    assert_eq!(cache.get("b").await.unwrap(), Some(json!("b")));
}

/// `clear` removes every entry and says how many.
pub async fn cache_clear(b: &impl CacheBackend) {
    let (_setup, cache) = new_cache(b).await;
    set_all(
        &*cache,
        (0..3).map(|i| (format!("clear-{i}"), json!(i))),
        MINUTE,
    )
    .await;
    assert_eq!(cache.clear().await.unwrap(), 3);
    for i in 0..3 {
        assert_eq!(cache.get(&format!("clear-{i}")).await.unwrap(), None);
    }
    assert_eq!(cache.stats().await.unwrap().entries, 0);
    assert_eq!(cache.clear().await.unwrap(), 0);
}

/// `stats` counts entries and expired ones; `cleanup` removes exactly the expired.
pub async fn cache_cleanup_and_stats(b: &impl CacheBackend) {
    let (setup, cache) = new_cache(b).await;
    let numbered =
        |prefix: &'static str, n| (0..n).map(move |i| (format!("{prefix}-{i}"), json!({"i": i})));
    set_all(&*cache, numbered("short", 3), Duration::from_secs(10)).await;
    set_all(&*cache, numbered("long", 2), Duration::from_secs(100)).await;
    setup.clock.advance(Duration::from_secs(50));
    let stats = cache.stats().await.unwrap();
    assert_eq!((stats.entries, stats.expired_entries), (5, 3));
    assert!(stats.approximate_bytes > 0);
    assert_eq!(cache.cleanup().await.unwrap(), 3);
    let stats = cache.stats().await.unwrap();
    assert_eq!((stats.entries, stats.expired_entries), (2, 0));
    assert_eq!(cache.get("long-1").await.unwrap(), Some(json!({"i": 1})));
    assert_eq!(cache.cleanup().await.unwrap(), 0);
}

/// Bad keys and TTLs are typed errors naming the problem.
pub async fn cache_rejects_bad_input(b: &impl CacheBackend) {
    let (setup, cache) = new_cache(b).await;
    let too_long = "k".repeat(crate::validate::MAX_KEY_BYTES + 1);
    for bad in ["", "a\u{0}b", "line\nbreak", too_long.as_str()] {
        let e = cache.get(bad).await.unwrap_err();
        assert!(
            matches!(e, StoreError::InvalidInput { field: "hash", .. }),
            "{bad:?}: {e}"
        );
        let e = cache.set(bad, &json!(1), Some(MINUTE)).await.unwrap_err();
        assert!(matches!(e, StoreError::InvalidInput { .. }), "{bad:?}: {e}");
        assert!(cache.delete(bad).await.is_err());
    }
    let e = cache
        .set(
            "ok",
            &json!(1),
            Some(setup.cache.max_ttl + Duration::from_secs(1)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::InvalidInput { field: "ttl", .. }),
        "{e}"
    );
    assert_eq!(cache.get("ok").await.unwrap(), None);
}

/// A value set through one handle is read through another (another process).
pub async fn cache_handles_share_storage(b: &impl CacheBackend) {
    let setup = Setup::new();
    let a = b.cache(&setup).await.unwrap();
    let other = b.cache(&setup).await.unwrap();
    a.set("shared", &json!([1, 2, 3]), Some(MINUTE))
        .await
        .unwrap();
    assert_eq!(other.get("shared").await.unwrap(), Some(json!([1, 2, 3])));
    other.delete("shared").await.unwrap();
    assert_eq!(a.get("shared").await.unwrap(), None);
}

/// A working backend reports itself healthy.
pub async fn cache_health_check(b: &impl CacheBackend) {
    let cache = b.cache(&Setup::new()).await.unwrap();
    let health = cache.health_check().await.unwrap();
    assert!(health.healthy, "{}", health.detail);
    assert!(!health.detail.is_empty());
}

/// A value over [`MAX_VALUE_BYTES`] of JSON (even a highly compressible one) is refused
/// with `ItemTooLarge` naming the key, size and limit, before anything is written: the
/// previous value stays readable. A value of exactly the limit is stored and read back.
pub async fn cache_refuses_oversized_values(b: &impl CacheBackend) {
    let (_setup, cache) = new_cache(b).await;
    cache
        .set("big", &json!({"old": true}), Some(MINUTE))
        .await
        .unwrap();
    // A JSON string serializes to its bytes plus two quotes.
    let over = json!("x".repeat(MAX_VALUE_BYTES - 1));
    match cache.set("big", &over, Some(MINUTE)).await {
        Err(StoreError::ItemTooLarge { key, size, limit }) => {
            assert_eq!(key, "big");
            assert_eq!(size, MAX_VALUE_BYTES + 1);
            assert_eq!(limit, MAX_VALUE_BYTES);
        }
        other => panic!("expected ItemTooLarge, got {other:?}"),
    }
    drop(over);
    assert_eq!(
        cache.get("big").await.unwrap(),
        Some(json!({"old": true})),
        "a refused set leaves the old value intact"
    );
    let at_limit = json!("y".repeat(MAX_VALUE_BYTES - 2));
    cache.set("big", &at_limit, Some(MINUTE)).await.unwrap();
    assert!(
        cache.get("big").await.unwrap() == Some(at_limit),
        "a value of exactly the limit round-trips"
    );
}

/// `purge_resource` removes exactly that resource's entries (a chunked value's
/// included) and says how many; another resource's entries, one whose name the purged
/// one is a prefix of, and entries without a resource stay readable.
pub async fn cache_purge_resource(b: &impl CacheBackend) {
    use crate::cache::resource_key;
    let (_setup, cache) = new_cache(b).await;
    let key = |resource: &str, i: usize| resource_key(resource, &format!("{i:064x}"));
    let large = json!("v".repeat(500_000));
    let volumes = (0..3).map(|i| {
        (
            key("volumes", i),
            if i == 0 { large.clone() } else { json!(i) },
        )
    });
    let others = (0..2).map(|i| (key("volumes-2", i), json!(i)));
    set_all(&*cache, volumes.chain(others), MINUTE).await;
    let singles = [
        (key("a/b", 0), json!("a/b")),
        ("unresourced".to_owned(), json!("u")),
    ];
    set_all(&*cache, singles, MINUTE).await;
    let stats = cache.stats().await.unwrap();
    assert_eq!((stats.entries, stats.unresourced_entries), (7, 1));
    if let Some(names) = cache.cached_resources().await.unwrap() {
        assert_eq!(names, ["a/b", "volumes", "volumes-2"]);
    }
    if let Some(listing) = cache.resource_entries("volumes", 2).await.unwrap() {
        assert_eq!((listing.resource.as_str(), listing.entries), ("volumes", 3));
        let keys: Vec<&str> = listing.listed.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [key("volumes", 0), key("volumes", 1)],
            "by key, limited"
        );
        assert!(listing.listed[0].bytes > listing.listed[1].bytes);
        assert!(listing.bytes >= listing.listed[0].bytes);
    }

    assert_eq!(cache.purge_resource("volume").await.unwrap(), 0, "a prefix");
    assert_eq!(cache.purge_resource("volumes").await.unwrap(), 3);
    for i in 0..3 {
        assert_eq!(cache.get(&key("volumes", i)).await.unwrap(), None);
    }
    for i in 0..2 {
        assert_eq!(
            cache.get(&key("volumes-2", i)).await.unwrap(),
            Some(json!(i))
        );
    }
    assert_eq!(cache.get("unresourced").await.unwrap(), Some(json!("u")));
    assert_eq!(
        cache.purge_resource("a/b").await.unwrap(),
        1,
        "an encoded name"
    );
    assert_eq!(
        cache.purge_resource("volumes").await.unwrap(),
        0,
        "none left"
    );
    let stats = cache.stats().await.unwrap();
    assert_eq!(
        (stats.entries, stats.orphan_chunks),
        (3, 0),
        "chunks removed too"
    );
    if let Some(listing) = cache.resource_entries("volumes", 10).await.unwrap() {
        assert_eq!((listing.entries, listing.listed.len()), (0, 0));
    }
    let e = cache.purge_resource("").await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::InvalidInput {
                field: "resource",
                ..
            }
        ),
        "{e}"
    );
}

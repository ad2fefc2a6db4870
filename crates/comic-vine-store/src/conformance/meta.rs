//! Metadata cases: `touch_with_meta` replaces an entry's metadata with its times, the
//! value untouched; `touch` keeps it; `set_entry` clears it; too long is refused.

use std::time::Duration;

use serde_json::json;

use super::freshness::{freshness, incompressible};
use super::{CacheBackend, Setup};
use crate::cache::MAX_META_BYTES;
use crate::clock::Clock;
use crate::error::StoreError;

const SECOND: Duration = Duration::from_secs(1);

/// The metadata round trip on a small and a chunk-sized value: none after `set_entry`;
/// `touch_with_meta` (from another handle) restamps the entry and replaces its
/// metadata, the value unchanged; a plain `touch` keeps it; a second `touch_with_meta`
/// replaces it; a new `set_entry` clears it.
pub async fn meta_touch_replaces_meta(b: &impl CacheBackend) {
    let setup = Setup::new();
    let cache = b.cache(&setup).await.unwrap();
    let other = b.cache(&setup).await.unwrap();
    let first = json!({"headers": [["etag", "\"v1\""], ["x-n", "1"]]});
    let second = json!({"headers": [["etag", "\"v2\""], ["x-n", "2"]], "extra": [1, 2, 3]});
    for (key, value) in [
        ("meta-small", json!({"small": true})),
        ("meta-big", incompressible(600_000)),
    ] {
        cache
            .set_entry(key, &value, freshness(10, 50))
            .await
            .unwrap();
        assert_eq!(cache.get_entry(key).await.unwrap().unwrap().meta, None);
        setup.clock.advance(SECOND * 30);
        let touched = other
            .touch_with_meta(key, freshness(20, 40), &first)
            .await
            .unwrap();
        assert!(touched, "{key}");
        let now = setup.clock.now();
        let entry = cache.get_entry(key).await.unwrap().unwrap();
        assert_eq!(entry.value, value, "{key}: the value is unchanged");
        assert_eq!(entry.meta.as_ref(), Some(&first), "{key}");
        assert_eq!(
            (entry.stored_at, entry.fresh_until, entry.stale_until),
            (
                now,
                now.saturating_add(SECOND * 20),
                now.saturating_add(SECOND * 60)
            ),
            "{key}"
        );
        setup.clock.advance(SECOND * 5);
        assert!(cache.touch(key, freshness(20, 40)).await.unwrap());
        let entry = cache.get_entry(key).await.unwrap().unwrap();
        assert_eq!(entry.meta.as_ref(), Some(&first), "{key}: touch keeps it");
        assert!(
            cache
                .touch_with_meta(key, freshness(20, 40), &second)
                .await
                .unwrap()
        );
        let entry = other.get_entry(key).await.unwrap().unwrap();
        assert_eq!((entry.value, entry.meta), (value, Some(second.clone())));
        cache
            .set_entry(key, &json!("new"), freshness(10, 10))
            .await
            .unwrap();
        // (Read through the writer: a near cache's other handle may keep its copy.)
        let entry = cache.get_entry(key).await.unwrap().unwrap();
        assert_eq!((entry.value, entry.meta), (json!("new"), None), "{key}");
    }
}

/// `touch_with_meta` finds no missing or expired entry (nor brings it back), removes one
/// for a zero horizon, and refuses metadata over [`MAX_META_BYTES`] with
/// `MetaTooLarge`, leaving the entry as it was.
pub async fn meta_touch_refusals(b: &impl CacheBackend) {
    let setup = Setup::new();
    let cache = b.cache(&setup).await.unwrap();
    let meta = json!({"n": 1});
    assert!(
        !cache
            .touch_with_meta("meta-never-set", freshness(10, 0), &meta)
            .await
            .unwrap()
    );
    assert_eq!(cache.get_entry("meta-never-set").await.unwrap(), None);
    cache
        .set_entry("meta-limit", &json!("v"), freshness(10, 10))
        .await
        .unwrap();
    assert!(
        cache
            .touch_with_meta("meta-limit", freshness(10, 10), &meta)
            .await
            .unwrap()
    );
    let before = cache.get_entry("meta-limit").await.unwrap();
    setup.clock.advance(SECOND);
    let over = json!("x".repeat(MAX_META_BYTES));
    let e = cache
        .touch_with_meta("meta-limit", freshness(10, 10), &over)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::MetaTooLarge { key, limit, .. }
            if key == "meta-limit" && *limit == MAX_META_BYTES),
        "{e}"
    );
    assert_eq!(cache.get_entry("meta-limit").await.unwrap(), before);
    setup.clock.advance(SECOND * 30);
    assert!(
        !cache
            .touch_with_meta("meta-limit", freshness(10, 0), &meta)
            .await
            .unwrap(),
        "expired: not revived"
    );
    assert_eq!(cache.get_entry("meta-limit").await.unwrap(), None);
    cache
        .set_entry("meta-limit", &json!("v"), freshness(10, 10))
        .await
        .unwrap();
    assert!(
        !cache
            .touch_with_meta("meta-limit", freshness(0, 0), &meta)
            .await
            .unwrap()
    );
    assert_eq!(
        cache.get_entry("meta-limit").await.unwrap(),
        None,
        "a zero horizon removes it"
    );
}

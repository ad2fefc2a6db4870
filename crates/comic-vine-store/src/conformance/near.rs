//! A case of a near cache ([`crate::cache::NearCache`]) over a backend's cache store, run
//! by the tests that build one.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cache::CacheStore;
use crate::clock::ManualClock;

/// Asserts that an entry set for 2 s through `near` is served until it expires and is a
/// miss from then on, though the near cache's local copies live longer (`clock` is the
/// one the near cache and its store read).
pub async fn short_ttl_expires_before_the_max_age(
    near: &dyn CacheStore<Value>,
    clock: &ManualClock,
) {
    near.set("short", &json!("s"), Some(Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(near.get("short").await.unwrap(), Some(json!("s")));
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        near.get("short").await.unwrap(),
        None,
        "expired before the max local age"
    );
}

/// Asserts a near cache's documented limit: after `other` (another process's handle)
/// deletes `key`, `near` serves its local copy, `value`, until the max local age `age`
/// is up, and the deletion is seen at that age.
pub async fn deletion_elsewhere_is_seen_at_the_max_age(
    near: &dyn CacheStore<Value>,
    other: &dyn CacheStore<Value>,
    clock: &ManualClock,
    age: Duration,
    (key, value): (&str, Value),
) {
    other.delete(key).await.unwrap();
    clock.advance(age - Duration::from_millis(1));
    assert_eq!(
        near.get(key).await.unwrap(),
        Some(value),
        "the documented limit: a local copy until its age is up"
    );
    clock.advance(Duration::from_millis(1));
    assert_eq!(
        near.get(key).await.unwrap(),
        None,
        "seen at the max local age"
    );
}

//! Items written by an older layout are refused with a typed error naming the item
//! while they still matter, never read as empty; once expired they are replaced.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use comic_vine_dynamodb_store::{
    DynamoDbAdaptiveRateLimitStore, DynamoDbDedupeStore, DynamoDbRateLimitStore,
};
use comic_vine_store::{
    AdaptiveRateLimitStore, DedupeStore, Priority, RateLimitStore, Registration, StoreError,
    StoreResult,
};
use serde_json::Value;

use super::backend::DynamoBackend;

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Puts an item of the previous layout: `attributes` besides the key, with a TTL
/// `ttl_from_now` seconds away (negative: expired).
async fn put_old(
    backend: &DynamoBackend,
    pk: &str,
    sk: &str,
    attributes: &[(&str, AttributeValue)],
    ttl_from_now: i64,
) {
    let mut item: HashMap<String, AttributeValue> = attributes
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    item.insert("PK".into(), AttributeValue::S(pk.into()));
    item.insert("SK".into(), AttributeValue::S(sk.into()));
    let ttl = now_secs().saturating_add_signed(ttl_from_now);
    item.insert("TTL".into(), n(ttl));
    backend
        .table
        .client()
        .put_item()
        .table_name(backend.table.name())
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

/// Asserts that `call` fails with [`StoreError::OlderLayout`] naming `item` and the
/// attribute `found`, and the remedy.
async fn assert_older<T: std::fmt::Debug>(
    call: impl Future<Output = StoreResult<T>>,
    item: &str,
    found: &str,
) {
    let e = call.await.unwrap_err();
    let text = e.to_string();
    match &e {
        StoreError::OlderLayout {
            item: named,
            found: attrs,
            remedy,
        } => {
            assert!(named.contains(item), "{text}");
            assert!(attrs.contains(found), "{text}");
            assert!(remedy.contains("expires"), "{text}");
        }
        other => panic!("expected OlderLayout, got {other:?}"),
    }
    assert!(text.contains("older layout"), "{text}");
}

fn old_state() -> Vec<(&'static str, AttributeValue)> {
    vec![
        ("G", AttributeValue::B(vec![1, 2, 3].into())),
        ("VER", AttributeValue::S("abc".into())),
        ("WIN", n(60_000)),
    ]
}

#[tokio::test]
async fn a_live_state_item_of_the_older_layout_is_refused_by_name() {
    let (backend, table) = DynamoBackend::fresh_handle().await;
    put_old(&backend, "RATELIMIT#old", "STATE", &old_state(), 3600).await;
    put_old(&backend, "RATELIMIT#old", "ADAPTIVE", &old_state(), 3600).await;

    let limiter = DynamoDbRateLimitStore::new(&table);
    assert_older(limiter.try_acquire("old"), "RATELIMIT#old / STATE", "G").await;
    assert_older(limiter.status("old"), "RATELIMIT#old / STATE", "VER").await;
    let adaptive = DynamoDbAdaptiveRateLimitStore::new(&table).unwrap();
    assert_older(
        adaptive.try_acquire("old", Priority::User),
        "RATELIMIT#old / ADAPTIVE",
        "G",
    )
    .await;
    // The remedy works: a reset removes it.
    limiter.reset("old").await.unwrap();
    assert!(limiter.try_acquire("old").await.unwrap().granted);
}

#[tokio::test]
async fn an_expired_state_item_of_the_older_layout_is_replaced() {
    let (backend, table) = DynamoBackend::fresh_handle().await;
    put_old(&backend, "RATELIMIT#gone", "STATE", &old_state(), -10).await;
    put_old(&backend, "RATELIMIT#gone", "ADAPTIVE", &old_state(), -10).await;
    let limiter = DynamoDbRateLimitStore::new(&table);
    assert!(limiter.try_acquire("gone").await.unwrap().granted);
    let adaptive = DynamoDbAdaptiveRateLimitStore::new(&table).unwrap();
    assert!(
        adaptive
            .try_acquire("gone", Priority::User)
            .await
            .unwrap()
            .granted
    );
    // Another process now reads the current layout.
    let other = DynamoDbRateLimitStore::new(&table);
    let status = other.status("gone").await.unwrap();
    assert_eq!(status.remaining, status.limit - 1);
}

#[tokio::test]
async fn a_job_item_of_the_older_layout_is_refused_until_it_expires() {
    let (backend, table) = DynamoBackend::fresh_handle().await;
    let now_ms = now_secs() * 1000;
    let old_job = |lease: u64| {
        vec![
            ("JID", AttributeValue::S("j-old".into())),
            ("ST", AttributeValue::S("pending".into())),
            ("CR", n(now_ms)),
            ("LU", n(lease)),
        ]
    };
    put_old(
        &backend,
        "DEDUPE#live",
        "JOB",
        &old_job(now_ms + 60_000),
        3600,
    )
    .await;
    put_old(&backend, "DEDUPE#gone", "JOB", &old_job(now_ms), -10).await;

    let dedupe: DynamoDbDedupeStore<Value> = DynamoDbDedupeStore::new(&table);
    assert_older(dedupe.register_or_join("live"), "dedupe job live", "JID").await;
    assert_older(dedupe.job("live"), "dedupe job live", "LU").await;
    assert!(matches!(
        dedupe.register_or_join("gone").await.unwrap(),
        Registration::Owner { .. }
    ));
}

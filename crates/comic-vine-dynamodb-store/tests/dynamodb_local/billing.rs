//! Billed against reported units: what completing a job into the cache costs on a
//! DynamoDB bill (no transaction: billed as reported).

use comic_vine_dynamodb_store::StoreControls;
use std::time::Duration;

use comic_vine_store::{CacheStore, DedupeConfig, DedupeStore, Registration};
use serde_json::{Value, json};

use super::backend::DynamoBackend;
use super::stores::cache_and_dedupe;

/// `chars` random alphanumerics (zstd brings them to about three quarters).
fn value(chars: usize) -> Value {
    let mut rng = fastrand::Rng::with_seed(chars as u64);
    json!({"deck": (0..chars).map(|_| rng.alphanumeric()).collect::<String>()})
}

/// `complete_and_cache` into the store's own cache writes the value once: the job's
/// completion (one UpdateItem of an item under 1 KB) and the entry (one PutItem, the
/// units of a plain `set` of the same value on the same key: a PutItem is billed at the
/// larger of the old and new item, here equal). No transaction, so billed = reported.
#[tokio::test]
async fn complete_and_cache_costs_the_entry_plus_one_unit() {
    let (_backend, table) = DynamoBackend::fresh_handle().await;
    let (cache, dedupe) = cache_and_dedupe(&table, DedupeConfig::default());
    let ttl = Some(Duration::from_secs(3600));
    for chars in [900, 5_000, 9_000] {
        let hash = format!("billing-{chars}");
        let value = value(chars);
        assert_eq!(cache.get(&hash).await.unwrap(), None);
        let Registration::Owner { job_id, .. } = dedupe.register_or_join(&hash).await.unwrap()
        else {
            panic!("a fresh hash is owned");
        };
        let (dedupe_before, cache_before) = (dedupe.metrics(), cache.metrics());
        dedupe
            .complete_and_cache(&hash, &job_id, &value, cache.as_ref(), ttl)
            .await
            .unwrap();
        let (dedupe_after, cache_after) = (dedupe.metrics(), cache.metrics());
        let requests = dedupe_after.requests - dedupe_before.requests;
        let reported = dedupe_after.write_units - dedupe_before.write_units;
        let billed = dedupe_after.billed_write_units - dedupe_before.billed_write_units;
        assert_eq!(
            requests, 2,
            "the completion's UpdateItem, the entry's PutItem"
        );
        assert_eq!(
            cache_after.requests, cache_before.requests,
            "counted by the dedupe store"
        );
        assert_eq!(billed, reported, "no transaction: billed as reported");

        let before = cache.metrics();
        cache.set(&hash, &value, ttl).await.unwrap();
        let after = cache.metrics();
        let entry = after.write_units - before.write_units;
        eprintln!("{chars} chars: entry {entry} WCU; complete_and_cache {billed} WRU billed");
        assert_eq!(billed, entry + 1.0, "the entry once, and the job's 1 KB");
        if chars == 900 {
            assert_eq!(entry, 1.0);
        }
    }
    assert!(
        cache.get("billing-900").await.unwrap() == Some(value(900)),
        "the entry is readable"
    );
}

/// A refused conditional write is billed though DynamoDB reports nothing for it: a
/// joiner's refused registration at the job item's size (under 1 KB: 1 WRU), and a
/// `set` over a chunked entry (refused once for naming chunks, then sent again) at the
/// manifest's size on top of its own units.
#[tokio::test]
async fn a_refused_conditional_write_is_billed_but_not_reported() {
    let (_backend, table) = DynamoBackend::fresh_handle().await;
    let (cache, dedupe) = cache_and_dedupe(&table, DedupeConfig::default());
    assert!(dedupe.register_or_join("refused").await.unwrap().is_owner());
    let before = dedupe.metrics();
    assert!(!dedupe.register_or_join("refused").await.unwrap().is_owner());
    let after = dedupe.metrics();
    assert_eq!(after.requests - before.requests, 1, "one refused PutItem");
    assert_eq!(after.write_units, before.write_units, "reported: nothing");
    assert_eq!(
        after.billed_write_units - before.billed_write_units,
        1.0,
        "billed: the job item's 1 KB"
    );

    let ttl = Some(Duration::from_secs(3600));
    let big = value(600_000);
    cache.set("chunked", &big, ttl).await.unwrap();
    let before = cache.metrics();
    cache.set("chunked", &value(900), ttl).await.unwrap();
    let after = cache.metrics();
    let reported = after.write_units - before.write_units;
    let billed = after.billed_write_units - before.billed_write_units;
    assert_eq!(
        billed,
        reported + 1.0,
        "the refused PutItem of the small manifest"
    );
    assert_eq!(cache.get("chunked").await.unwrap(), Some(value(900)));
}

//! Billed against reported units: what a transactional write costs on a DynamoDB bill.

use std::time::Duration;

use comic_vine_dynamodb_store::{DynamoDbCacheStore, DynamoDbDedupeStore};
use comic_vine_store::conformance::Setup;
use comic_vine_store::{CacheStore, DedupeStore, Registration};
use serde_json::{Value, json};

use super::backend::DynamoBackend;

/// `chars` random alphanumerics (zstd brings them to about three quarters).
fn value(chars: usize) -> Value {
    let mut rng = fastrand::Rng::with_seed(chars as u64);
    json!({"deck": (0..chars).map(|_| rng.alphanumeric()).collect::<String>()})
}

/// DynamoDB bills a transaction two units per started KB of each item; DynamoDB Local
/// reports two per started KB of their total. The entry's plain units come from a plain
/// `set` of the same value on the same key (a PutItem is billed at the larger of the old
/// and new item, here equal), the job item is under 1 KB.
#[tokio::test]
async fn complete_and_cache_is_billed_two_units_per_kb_of_each_item() {
    let backend = DynamoBackend::fresh().await;
    let table = backend.handle(&Setup::new()).unwrap();
    let cache: DynamoDbCacheStore<Value> = DynamoDbCacheStore::new(&table);
    let dedupe: DynamoDbDedupeStore<Value> = DynamoDbDedupeStore::new(&table);
    let ttl = Some(Duration::from_secs(3600));
    for chars in [900, 5_000, 9_000] {
        let hash = format!("billing-{chars}");
        let value = value(chars);
        assert_eq!(cache.get(&hash).await.unwrap(), None);
        let Registration::Owner { job_id, .. } = dedupe.register_or_join(&hash).await.unwrap()
        else {
            panic!("a fresh hash is owned");
        };
        let before = dedupe.metrics();
        dedupe
            .complete_and_cache(&hash, &job_id, &value, &cache, ttl)
            .await
            .unwrap();
        let after = dedupe.metrics();
        assert_eq!(
            after.requests - before.requests,
            1,
            "one TransactWriteItems"
        );
        let reported = after.write_units - before.write_units;
        let billed = after.billed_write_units - before.billed_write_units;

        let before = cache.metrics();
        cache.set(&hash, &value, ttl).await.unwrap();
        let after = cache.metrics();
        let entry = after.write_units - before.write_units;
        assert_eq!(
            after.billed_write_units - before.billed_write_units,
            entry,
            "a plain write is billed as reported"
        );
        eprintln!(
            "{chars} chars: entry {entry} WCU plain; transaction reported {reported}, billed {billed}"
        );
        assert_eq!(billed, 2.0 * (entry + 1.0), "entry and job, each doubled");
        assert!(billed >= reported);
        if chars == 900 {
            // The 1 KB miss: the entry and the job each fit in 1 KB, and DynamoDB Local
            // reports their 1 KB total at 2 units: billed twice that.
            assert_eq!(entry, 1.0);
            assert_eq!(billed, 2.0 * reported);
        }
    }
}

//! `complete_and_cache` into the store's own cache completes the job first and publishes
//! the entry after it: what a waiter sees between the two writes.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use comic_vine_dynamodb_store::{DynamoDbCacheStore, Table};
use comic_vine_store::clock::{Clock, OffsetClock};
use comic_vine_store::conformance::Setup;
use comic_vine_store::{
    CacheStore, DedupeConfig, DedupeStore, JobOutcome, JobState, Registration, Timestamp,
};
use serde_json::{Value, json};

use super::backend::DynamoBackend;
use super::stores::cache_and_dedupe;

/// Writes what the owner's first write leaves: the job of `hash` completed with its
/// result named as the cache entry, and no entry written for it yet.
async fn complete_without_entry(table: &Table, hash: &str, now: Timestamp) {
    let now = now.as_millis();
    table
        .client()
        .update_item()
        .table_name(table.name())
        .key("PK", AttributeValue::S(format!("DEDUPE#{hash}")))
        .key("SK", AttributeValue::S("JOB".into()))
        .update_expression("SET #st = :completed, finished_at = :now, in_cache = :yes")
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":completed", AttributeValue::S("completed".into()))
        .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
        .expression_attribute_values(":yes", AttributeValue::Bool(true))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_waiter_takes_a_completed_job_only_with_an_entry_as_new_as_its_completion() {
    let backend = DynamoBackend::fresh().await;
    let setup = Setup::new();
    let table = backend.handle(&setup).unwrap();
    let config = DedupeConfig {
        result_grace: Duration::from_secs(2),
        poll_interval: Duration::from_millis(20),
        max_poll_interval: Duration::from_millis(100),
        ..DedupeConfig::default()
    };
    let (cache, dedupe) = cache_and_dedupe(&table, config);
    let ttl = Some(Duration::from_secs(3600));
    for (hash, published) in [("published", true), ("never-published", false)] {
        // An older entry: not this job's result.
        cache.set(hash, &json!("older"), ttl).await.unwrap();
        setup.clock.advance(Duration::from_millis(10));
        let Registration::Owner { .. } = dedupe.register_or_join(hash).await.unwrap() else {
            panic!("a fresh hash is owned");
        };
        complete_without_entry(&table, hash, setup.clock.now()).await;
        let waiter = {
            let dedupe = dedupe.clone();
            tokio::spawn(async move { dedupe.wait_for(hash).await })
        };
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(
            !waiter.is_finished(),
            "{hash}: a completed job is not taken without its entry"
        );
        assert_eq!(
            dedupe.job(hash).await.unwrap().map(|j| j.state),
            Some(JobState::Completed)
        );
        setup.clock.advance(Duration::from_millis(10));
        if published {
            cache.set(hash, &json!("result"), ttl).await.unwrap();
            assert_eq!(
                waiter.await.unwrap().unwrap(),
                JobOutcome::Completed(json!("result"))
            );
        } else {
            // Its owner died between its writes: once the grace ends, nothing is left
            // to wait for (the pipeline looks again).
            setup.clock.advance(Duration::from_secs(3));
            assert_eq!(waiter.await.unwrap().unwrap(), JobOutcome::NotFound);
        }
    }
}

/// An owner that completes after a newer entry was written (it stalled between its two
/// writes, or another writer set the key) does not replace that entry.
#[tokio::test]
async fn a_late_publication_never_replaces_a_newer_entry() {
    let backend = DynamoBackend::fresh().await;
    let setup = Setup::new();
    let table = backend.handle(&setup).unwrap();
    let (cache, dedupe) = cache_and_dedupe(&table, DedupeConfig::default());
    let ttl = Some(Duration::from_secs(3600));
    let Registration::Owner { job_id, .. } = dedupe.register_or_join("h").await.unwrap() else {
        panic!("a fresh hash is owned");
    };
    // A newer entry, stamped a minute ahead of this host's clock.
    let ahead: DynamoDbCacheStore<Value> = DynamoDbCacheStore::builder(&table)
        .clock(Arc::new(OffsetClock::new(setup.clock.clone(), 60_000)))
        .build()
        .unwrap();
    ahead.set("h", &json!("newer"), ttl).await.unwrap();
    dedupe
        .complete_and_cache("h", &job_id, &json!("late"), cache.as_ref(), ttl)
        .await
        .unwrap();
    assert_eq!(cache.get("h").await.unwrap(), Some(json!("newer")));
    assert_eq!(
        dedupe.wait_for("h").await.unwrap(),
        JobOutcome::Completed(json!("newer")),
        "the job's waiters take the newer entry"
    );
}

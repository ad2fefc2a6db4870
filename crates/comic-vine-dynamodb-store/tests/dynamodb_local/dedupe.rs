//! The DynamoDB dedupe store beyond the conformance suite: results over one item,
//! shared polling, what each operation costs, chunk clean-up and typed errors.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::AttributeValue;
use comic_vine_dynamodb_store::{DynamoDbDedupeStore, PK, SK, TTL, keys};
use comic_vine_store::conformance::Setup;
use comic_vine_store::{Clock, DedupeStore, JobOutcome, Registration, StoreError};
use serde_json::{Value, json};

use super::backend::DynamoBackend;

/// About `bytes` bytes of JSON that zstd cannot shrink below one item.
fn big_result(bytes: usize) -> Value {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let results: Vec<Value> = (0..bytes / 100)
        .map(|id| {
            let noise: String = (0..5)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    format!("{seed:016x}")
                })
                .collect();
            json!({"id": id, "deck": noise})
        })
        .collect();
    json!({"status_code": 1, "results": results})
}

fn store(backend: &DynamoBackend, setup: &Setup) -> DynamoDbDedupeStore<Value> {
    backend.dedupe_store(setup).unwrap()
}

async fn chunk_items(backend: &DynamoBackend, hash: &str) -> usize {
    backend.items_in(keys::dedupe_chunk_pk(hash)).await
}

async fn owner(store: &DynamoDbDedupeStore<Value>, hash: &str) -> comic_vine_store::JobId {
    match store.register_or_join(hash).await.unwrap() {
        Registration::Owner { job_id, .. } => job_id,
        joined => panic!("expected to own {hash}: {joined:?}"),
    }
}

/// Registers on `hash`, whose owner's lease has expired: `store` takes the job over.
pub(super) async fn take_over(
    store: &DynamoDbDedupeStore<Value>,
    hash: &str,
) -> comic_vine_store::JobId {
    match store.register_or_join(hash).await.unwrap() {
        Registration::Owner {
            job_id,
            took_over: true,
        } => job_id,
        other => panic!("the expired lease of {hash} should be taken over: {other:?}"),
    }
}

/// Starts `n` waiters on `hash` through clones of `store`.
fn waiters(
    store: &DynamoDbDedupeStore<Value>,
    hash: &'static str,
    n: usize,
) -> Vec<tokio::task::JoinHandle<JobOutcome<Value>>> {
    (0..n)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.wait_for(hash).await.unwrap() })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn megabyte_result_reaches_waiters_through_one_shared_poll() {
    let backend = DynamoBackend::fresh().await;
    let setup = Setup::new();
    let producer = store(&backend, &setup);
    let value = Arc::new(big_result(1024 * 1024));
    let json = serde_json::to_vec(&*value).unwrap();
    assert!(json.len() > 1024 * 1024);

    // The same job timing on two hashes: eight waiters on one store, one on another.
    let shared_job = owner(&producer, "big-shared").await;
    let single_job = owner(&producer, "big-single").await;
    let shared = store(&backend, &setup);
    let single = store(&backend, &setup);
    let eight = waiters(&shared, "big-shared", 8);
    let one = waiters(&single, "big-single", 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    producer
        .complete("big-shared", &shared_job, &value)
        .await
        .unwrap();
    producer
        .complete("big-single", &single_job, &value)
        .await
        .unwrap();
    for waiter in eight.into_iter().chain(one) {
        let JobOutcome::Completed(back) = waiter.await.unwrap() else {
            panic!("the waiter should receive the result");
        };
        assert_eq!(serde_json::to_vec(&back).unwrap(), json);
    }
    assert!(chunk_items(&backend, "big-shared").await >= 2, "chunked");

    let (eight, one) = (shared.metrics(), single.metrics());
    assert!(
        eight.requests <= one.requests + 2,
        "8 waiters: {eight:?}; 1 waiter: {one:?}"
    );
    assert!(one.requests >= 3, "{one:?}");
}

#[tokio::test]
async fn waiters_joining_later_share_the_running_poll() {
    let backend = DynamoBackend::fresh().await;
    let setup = Setup::new();
    let producer = store(&backend, &setup);
    let waiting = store(&backend, &setup);
    let job = owner(&producer, "staggered").await;
    let mut all = waiters(&waiting, "staggered", 1);
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        all.extend(waiters(&waiting, "staggered", 2));
    }
    producer
        .complete("staggered", &job, &json!("done"))
        .await
        .unwrap();
    for waiter in all {
        assert_eq!(waiter.await.unwrap(), JobOutcome::Completed(json!("done")));
    }
    // One loop: polls at 0, 50, 150, 350 and 750 ms at most, not one loop per waiter.
    let polls = waiting.metrics().requests;
    assert!(polls <= 6, "{:?}", waiting.metrics());
}

#[tokio::test]
async fn each_operation_is_one_request() {
    let backend = DynamoBackend::fresh().await;
    let setup = Setup::new();
    let a = store(&backend, &setup);
    let b = store(&backend, &setup);
    let requests = |s: &DynamoDbDedupeStore<Value>| s.metrics().requests;

    let job = owner(&a, "costs").await;
    assert_eq!(requests(&a), 1, "register: one PutItem");
    assert_eq!(
        b.register_or_join("costs").await.unwrap(),
        Registration::Joined {
            job_id: job.clone()
        }
    );
    assert_eq!(
        requests(&b),
        1,
        "join: the same PutItem, refused with the job"
    );
    a.extend_lease("costs", &job).await.unwrap();
    assert!(b.is_in_progress("costs").await.unwrap());
    a.complete("costs", &job, &json!({"id": 1})).await.unwrap();
    assert_eq!(
        requests(&a),
        3,
        "extend_lease and complete: one UpdateItem each"
    );
    assert_eq!(
        b.wait_for("costs").await.unwrap(),
        JobOutcome::Completed(json!({"id": 1}))
    );
    assert!(b.job("costs").await.unwrap().is_some());
    assert_eq!(
        requests(&b),
        4,
        "is_in_progress, a finished wait, job: one GetItem each"
    );

    // Expiry attributes: a finished job disappears after its grace, plus a margin.
    let item = backend
        .table
        .client()
        .get_item()
        .table_name(backend.table.name())
        .key(PK, AttributeValue::S("DEDUPE#costs".into()))
        .key(SK, AttributeValue::S("JOB".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let ttl: u64 = item[TTL].as_n().unwrap().parse().unwrap();
    let grace_end = setup.clock.now().saturating_add(setup.dedupe.result_grace);
    assert!(ttl >= grace_end.as_secs_ceil() && ttl < grace_end.as_secs() + 3600);
}

#[tokio::test]
async fn takeover_removes_chunks_and_a_stale_owner_cannot_publish() {
    let backend = DynamoBackend::fresh().await;
    let setup = Setup::new();
    let dead = store(&backend, &setup);
    let next = store(&backend, &setup);
    let old = owner(&dead, "stale").await;

    // The old owner died after writing a result chunk, before publishing it.
    backend
        .table
        .client()
        .put_item()
        .table_name(backend.table.name())
        .item(PK, AttributeValue::S(keys::dedupe_chunk_pk("stale")))
        .item(SK, AttributeValue::S(keys::chunk_sk(old.as_str(), 0)))
        .send()
        .await
        .unwrap();
    setup.clock.advance(setup.dedupe.lease);
    let job_id = take_over(&next, "stale").await;
    assert_eq!(
        chunk_items(&backend, "stale").await,
        0,
        "orphan chunk removed"
    );

    // A late big result of the old owner is refused and leaves no chunks behind.
    let late = dead
        .complete("stale", &old, &big_result(800 * 1024))
        .await
        .unwrap_err();
    assert!(matches!(late, StoreError::NotJobOwner { .. }), "{late}");
    assert_eq!(chunk_items(&backend, "stale").await, 0);

    // The new owner's chunked result is removed once a later job replaces it.
    next.complete("stale", &job_id, &big_result(800 * 1024))
        .await
        .unwrap();
    assert!(chunk_items(&backend, "stale").await >= 2);
    setup.clock.advance(setup.dedupe.result_grace);
    owner(&dead, "stale").await;
    assert_eq!(chunk_items(&backend, "stale").await, 0);
}

#[tokio::test]
async fn errors_are_typed() {
    let backend = DynamoBackend::fresh().await;
    let setup = Setup::new();
    let s = store(&backend, &setup);
    let job = owner(&s, "huge-error").await;
    let e = s
        .fail("huge-error", &job, &"x".repeat(500 * 1024))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::ItemTooLarge { .. }), "{e}");

    let before = s.metrics();
    let e = s.register_or_join(&"h".repeat(1025)).await.unwrap_err();
    assert!(matches!(e, StoreError::InvalidInput { .. }), "{e}");
    let after = s.metrics();
    assert_eq!(
        (after.requests, after.operations),
        (before.requests, before.operations),
        "nothing sent for a bad hash"
    );

    s.close();
    let e = s.wait_for("huge-error").await.unwrap_err();
    assert!(matches!(e, StoreError::Closed), "{e}");

    backend.table.clone().delete().await.unwrap();
    let gone = store(&backend, &setup);
    for e in [
        gone.register_or_join("x").await.unwrap_err(),
        gone.wait_for("x").await.unwrap_err(),
        gone.job("x").await.map(|_| ()).unwrap_err(),
        gone.complete("x", &job, &json!(1)).await.unwrap_err(),
    ] {
        assert!(matches!(e, StoreError::TableNotFound { .. }), "{e}");
    }
}

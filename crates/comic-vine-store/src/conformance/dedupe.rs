//! Dedupe cases.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{CacheBackend, DedupeBackend, Setup};
use crate::algorithm::jobs::MISSED_ENTRY_MARGIN;
use crate::cache::CacheStore;
use crate::clock::Clock;
use crate::dedupe::{DedupeStore, JobId, JobOutcome, JobState, Registration, Seen};
use crate::error::StoreError;
use crate::memory::MemoryCacheStore;

/// The job `registration` owns; panics with `why` unless it is an owner whose
/// `took_over` is `took_over`.
fn owned(registration: Registration, took_over: bool, why: &str) -> JobId {
    match registration {
        Registration::Owner {
            job_id,
            took_over: t,
        } if t == took_over => job_id,
        other => panic!("{why}: {other:?}"),
    }
}

async fn handles(
    b: &impl DedupeBackend,
    setup: &Setup,
    n: usize,
) -> Vec<Arc<dyn DedupeStore<Value>>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(b.dedupe(setup).await.unwrap());
    }
    out
}

/// Of 16 concurrent `register_or_join` calls through separate handles, exactly one
/// becomes the owner and every other joins that owner's job.
pub async fn dedupe_exactly_one_owner(b: &impl DedupeBackend) {
    let setup = Setup::new();
    let stores = handles(b, &setup, 16).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(stores.len()));
    let tasks: Vec<_> = stores
        .into_iter()
        .map(|s| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                s.register_or_join("one-owner").await.unwrap()
            })
        })
        .collect();
    let mut registrations = Vec::new();
    for t in tasks {
        registrations.push(t.await.unwrap());
    }
    let owners: Vec<_> = registrations.iter().filter(|r| r.is_owner()).collect();
    assert_eq!(owners.len(), 1, "{registrations:?}");
    let owner_job = owners[0].job_id();
    assert!(
        registrations.iter().all(|r| r.job_id() == owner_job),
        "{registrations:?}"
    );
}

/// Waiters (on other handles) receive the owner's value.
pub async fn dedupe_waiters_get_value(b: &impl DedupeBackend) {
    let setup = Setup::new();
    let owner = b.dedupe(&setup).await.unwrap();
    let registration = owner.register_or_join("value").await.unwrap();
    let job_id = owned(registration, false, "first caller must own the job");
    assert!(owner.is_in_progress("value").await.unwrap());
    let mut waiters = Vec::new();
    for s in handles(b, &setup, 4).await {
        assert!(!s.register_or_join("value").await.unwrap().is_owner());
        waiters.push(tokio::spawn(
            async move { s.wait_for("value").await.unwrap() },
        ));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let value = json!({"results": {"id": 796, "name": "Batman"}});
    owner.complete("value", &job_id, &value).await.unwrap();
    for w in waiters {
        assert_eq!(w.await.unwrap(), JobOutcome::Completed(value.clone()));
    }
    assert!(!owner.is_in_progress("value").await.unwrap());
    let info = owner.job("value").await.unwrap().unwrap();
    assert_eq!(
        (info.state, info.job_id),
        (JobState::Completed, job_id.clone())
    );
    // A finished job cannot be finished again.
    let again = owner
        .complete("value", &job_id, &json!(0))
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::NotJobOwner { .. }), "{again}");
}

/// The owner's failure reaches waiters as a failure, with its message.
pub async fn dedupe_failure_reaches_waiters(b: &impl DedupeBackend) {
    let setup = Setup::new();
    let owner = b.dedupe(&setup).await.unwrap();
    let job = owner.register("failing").await.unwrap();
    let waiter = b.dedupe(&setup).await.unwrap();
    let wait = tokio::spawn(async move { waiter.wait_for("failing").await.unwrap() });
    tokio::time::sleep(Duration::from_millis(50)).await;
    owner
        .fail("failing", &job, "upstream answered 500")
        .await
        .unwrap();
    assert_eq!(
        wait.await.unwrap(),
        JobOutcome::Failed("upstream answered 500".into())
    );
    let info = owner.job("failing").await.unwrap().unwrap();
    assert_eq!(info.error.as_deref(), Some("upstream answered 500"));
}

/// An owner whose lease runs out is taken over; the old owner can no longer finish.
pub async fn dedupe_lease_takeover(b: &impl DedupeBackend) {
    let setup = Setup::new();
    let dead = b.dedupe(&setup).await.unwrap();
    let next = b.dedupe(&setup).await.unwrap();
    let old = dead.register("takeover").await.unwrap();
    setup
        .clock
        .advance(setup.dedupe.lease - Duration::from_millis(1));
    assert!(!next.register_or_join("takeover").await.unwrap().is_owner());
    setup.clock.advance(Duration::from_millis(1));
    assert!(!next.is_in_progress("takeover").await.unwrap());
    assert_eq!(
        next.wait_for("takeover").await.unwrap(),
        JobOutcome::Abandoned
    );
    let registration = next.register_or_join("takeover").await.unwrap();
    let job_id = owned(registration, true, "an expired lease must be taken over");
    assert_ne!(job_id, old);
    let late = dead
        .complete("takeover", &old, &json!("stale"))
        .await
        .unwrap_err();
    assert!(matches!(late, StoreError::NotJobOwner { .. }), "{late}");
    next.complete("takeover", &job_id, &json!("fresh"))
        .await
        .unwrap();
    assert_eq!(
        dead.wait_for("takeover").await.unwrap(),
        JobOutcome::Completed(json!("fresh"))
    );
}

/// An owner that extends its lease keeps the job past the original lease.
pub async fn dedupe_extend_lease_keeps_ownership(b: &impl DedupeBackend) {
    let setup = Setup::new();
    let owner = b.dedupe(&setup).await.unwrap();
    let other = b.dedupe(&setup).await.unwrap();
    let job = owner.register("heartbeat").await.unwrap();
    let half = setup.dedupe.lease / 2;
    setup.clock.advance(half);
    owner.extend_lease("heartbeat", &job).await.unwrap();
    setup.clock.advance(half + Duration::from_millis(10));
    assert_eq!(
        other.register_or_join("heartbeat").await.unwrap(),
        Registration::Joined {
            job_id: job.clone()
        }
    );
    let not_owner = other
        .extend_lease("heartbeat", &crate::JobId::random())
        .await
        .unwrap_err();
    assert!(matches!(not_owner, StoreError::NotJobOwner { .. }));
}

/// A finished result reaches late joiners during the grace only; after it a new
/// caller owns a new job and the old value is not served.
pub async fn dedupe_result_grace_is_not_a_cache(b: &impl DedupeBackend) {
    let setup = Setup::new();
    let owner = b.dedupe(&setup).await.unwrap();
    let late = b.dedupe(&setup).await.unwrap();
    let job = owner.register("grace").await.unwrap();
    owner.complete("grace", &job, &json!("done")).await.unwrap();
    assert!(!late.register_or_join("grace").await.unwrap().is_owner());
    assert_eq!(
        late.wait_for("grace").await.unwrap(),
        JobOutcome::Completed(json!("done"))
    );
    setup.clock.advance(setup.dedupe.result_grace);
    assert_eq!(late.wait_for("grace").await.unwrap(), JobOutcome::NotFound);
    let again = late.register_or_join("grace").await.unwrap();
    assert_eq!(
        again,
        Registration::Owner {
            job_id: again.job_id().clone(),
            took_over: false
        }
    );
    assert_ne!(again.job_id(), &job);
}

/// A caller holding a result stored after a finished job was registered (a stale cache
/// entry) owns a new job within the grace instead of joining that job; one holding an
/// older result joins as usual, and a pending job is joined either way. A caller that
/// found no entry joins a job that finished just before (its entry may not be readable
/// yet), not one that finished a margin before it looked (its entry was removed).
pub async fn dedupe_a_holder_of_its_result_does_not_join_a_finished_job(b: &impl DedupeBackend) {
    let setup = Setup::new();
    let owner = b.dedupe(&setup).await.unwrap();
    let late = b.dedupe(&setup).await.unwrap();
    let before = setup.clock.now();
    setup.clock.advance(Duration::from_millis(10));
    let job = owner.register("held").await.unwrap();
    let registered = setup.clock.now();
    owner.complete("held", &job, &json!("done")).await.unwrap();
    let joined = Registration::Joined {
        job_id: job.clone(),
    };
    // Holding something older than the job: its result is newer, join it.
    let older = late
        .register_or_join_after("held", Seen::Stale(before))
        .await;
    assert_eq!(older.unwrap(), joined);
    // Found nothing just after it finished: its entry may not be readable yet, join it.
    let just = late
        .register_or_join_after("held", Seen::Nothing(setup.clock.now()))
        .await;
    assert_eq!(just.unwrap(), joined);
    // Found nothing well after it finished: its entry was removed, own anew.
    let removed = Seen::Nothing(setup.clock.now().saturating_add(MISSED_ENTRY_MARGIN));
    let removed = late.register_or_join_after("held", removed).await.unwrap();
    assert!(removed.is_owner(), "{removed:?}");
    assert_ne!(removed.job_id(), &job);

    let job = removed.job_id().clone();
    late.complete("held", &job, &json!("again")).await.unwrap();
    let registered_again = setup.clock.now();
    // Holding the job's own result (stored at or after its registration): own anew.
    let again = late
        .register_or_join_after("held", Seen::Stale(registered_again))
        .await
        .unwrap();
    assert!(again.is_owner(), "{again:?}");
    assert_ne!(again.job_id(), &job);
    // That new job is pending: everyone joins it, whatever they saw.
    for seen in [Seen::Stale(registered), Seen::Nothing(setup.clock.now())] {
        let third = owner.register_or_join_after("held", seen).await.unwrap();
        assert_eq!(
            third,
            Registration::Joined {
                job_id: again.job_id().clone()
            }
        );
    }
}

/// A failed job does not block the hash: the next caller owns a new job at once.
pub async fn dedupe_failed_job_does_not_block(b: &impl DedupeBackend) {
    let setup = Setup::new();
    let s = b.dedupe(&setup).await.unwrap();
    let job = s.register("retry").await.unwrap();
    s.fail("retry", &job, "boom").await.unwrap();
    let next = s.register_or_join("retry").await.unwrap();
    assert!(next.is_owner());
    assert_ne!(next.job_id(), &job);
}

/// `wait_for` gives up after the job timeout; it returns `NotFound` at once without a job.
pub async fn dedupe_wait_is_bounded(b: &impl DedupeBackend) {
    let mut setup = Setup::new();
    setup.dedupe.job_timeout = Duration::from_millis(300);
    let s = b.dedupe(&setup).await.unwrap();
    assert_eq!(s.wait_for("nobody").await.unwrap(), JobOutcome::NotFound);
    s.register("slow").await.unwrap();
    let started = std::time::Instant::now();
    assert_eq!(s.wait_for("slow").await.unwrap(), JobOutcome::TimedOut);
    // A lower bound only (it waited the timeout out): a slow machine cannot fail it. The
    // backends time `wait_for` on tokio's clock, not the store clock a test could move.
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(s.job("nobody").await.unwrap().is_none());
}

/// Bad hashes are typed errors.
pub async fn dedupe_rejects_bad_input(b: &impl DedupeBackend) {
    let s = b.dedupe(&Setup::new()).await.unwrap();
    for bad in ["", "tab\there"] {
        let e = s.register_or_join(bad).await.unwrap_err();
        assert!(
            matches!(e, StoreError::InvalidInput { field: "hash", .. }),
            "{e}"
        );
        assert!(s.wait_for(bad).await.is_err());
        assert!(s.is_in_progress(bad).await.is_err());
    }
}

/// `complete_and_cache` into a cache of another kind: the value is cached and the job's
/// waiters receive it; a caller that does not own the job is refused.
pub async fn dedupe_complete_and_cache(b: &impl DedupeBackend) {
    let cache: MemoryCacheStore = MemoryCacheStore::new();
    complete_and_cache_into(b, &cache, "cc-other").await;
}

/// `complete_and_cache` into the backend's own cache (a backend may write both at once).
pub async fn dedupe_complete_and_cache_own(b: &(impl DedupeBackend + CacheBackend)) {
    let setup = Setup::new();
    let cache = b.cache(&setup).await.unwrap();
    complete_and_cache_into(b, &*cache, "cc-own").await;
}

async fn complete_and_cache_into(
    b: &impl DedupeBackend,
    cache: &dyn CacheStore<Value>,
    hash: &str,
) {
    let setup = Setup::new();
    let owner = b.dedupe(&setup).await.unwrap();
    let other = b.dedupe(&setup).await.unwrap();
    let job_id = owner.register(hash).await.unwrap();
    assert!(!other.register_or_join(hash).await.unwrap().is_owner());
    let waiter = {
        let (other, hash) = (Arc::clone(&other), hash.to_owned());
        tokio::spawn(async move { other.wait_for(&hash).await.unwrap() })
    };
    let wrong = crate::dedupe::JobId::from_string("not-the-owner");
    let refused = other
        .complete_and_cache(hash, &wrong, &json!(0), cache, None)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::NotJobOwner { .. }),
        "{refused}"
    );
    let value = json!({"results": [1, 2, 3]});
    let ttl = Some(Duration::from_secs(3600));
    owner
        .complete_and_cache(hash, &job_id, &value, cache, ttl)
        .await
        .unwrap();
    assert_eq!(cache.get(hash).await.unwrap(), Some(value.clone()));
    assert_eq!(waiter.await.unwrap(), JobOutcome::Completed(value.clone()));
    let info = other.job(hash).await.unwrap().unwrap();
    assert_eq!((info.state, info.job_id), (JobState::Completed, job_id));
}

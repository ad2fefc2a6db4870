//! The DynamoDB rate limiter: the conformance suite, and what each decision costs.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use comic_vine_dynamodb_store::StoreControls;
use comic_vine_store::conformance::{RateLimitBackend, Setup};
use comic_vine_store::{RateLimit, RateLimitConfig, RateLimitStore, StoreResult};

use super::backend::DynamoBackend;

#[async_trait]
impl RateLimitBackend for DynamoBackend {
    async fn rate_limit(&self, setup: &Setup) -> StoreResult<Arc<dyn RateLimitStore>> {
        Ok(Arc::new(self.limiter(setup)?))
    }
}

mod conformance {
    use super::*;
    comic_vine_store::rate_limit_conformance_tests!(DynamoBackend::fresh());
}

fn setup(limit: u32, window: Duration) -> Setup {
    Setup {
        rate_limits: RateLimitConfig::new(RateLimit::new(limit, window).unwrap()),
        ..Setup::new()
    }
}

#[tokio::test]
async fn a_grant_is_one_write_and_a_known_denial_is_free() {
    let backend = DynamoBackend::fresh().await;
    let store = backend
        .limiter(&setup(10, Duration::from_secs(60)))
        .unwrap();
    for _ in 0..10 {
        assert!(store.try_acquire("issues").await.unwrap().granted);
    }
    let after_grants = store.metrics();
    // One read to learn the (empty) state, then one conditional write per grant.
    assert_eq!(after_grants.requests, 11);
    assert_eq!(after_grants.write_units, 10.0, "each grant ≤ 1 WCU");
    for _ in 0..10 {
        assert!(!store.try_acquire("issues").await.unwrap().granted);
    }
    assert_eq!(
        store.metrics().requests,
        11,
        "denials on a known state send nothing"
    );
}

#[tokio::test]
async fn a_full_comic_vine_window_still_costs_one_write_unit() {
    let backend = DynamoBackend::fresh().await;
    let s = setup(200, Duration::from_secs(3600));
    let store = backend.limiter(&s).unwrap();
    for _ in 0..199 {
        assert!(store.try_acquire("characters").await.unwrap().granted);
        s.clock.advance(Duration::from_millis(17_900));
    }
    let before = store.metrics();
    assert!(store.try_acquire("characters").await.unwrap().granted);
    let cost = store.metrics().write_units - before.write_units;
    assert_eq!(cost, 1.0, "the 200th grant of an hour writes ≤ 1 KB");
}

/// Fills an hour's window of `limit` with `fill` grants spread over 50 minutes (waves of
/// concurrent grants), then measures one more grant: at most one write unit whatever
/// the limit, since a large limit's window is bucketed.
async fn a_grant_in_a_full_ish_window_costs(limit: u32, fill: u32) -> f64 {
    let backend = DynamoBackend::fresh().await;
    let s = setup(limit, Duration::from_secs(3600));
    let store = Arc::new(backend.limiter(&s).unwrap());
    let waves = 50;
    assert_eq!(fill % waves, 0);
    for _ in 0..waves {
        let tasks: Vec<_> = (0..fill / waves)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.try_acquire("bulk").await.unwrap().granted })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap());
        }
        s.clock.advance(Duration::from_secs(60));
    }
    let filled = store.metrics();
    eprintln!(
        "fill of {fill}: {} requests, {} WCU",
        filled.requests, filled.write_units
    );
    assert!(
        filled.write_units <= filled.requests as f64,
        "every write of the fill ≤ 1 WCU: {filled:?}"
    );
    let status = store.status("bulk").await.unwrap();
    assert_eq!(
        status.remaining,
        limit - fill,
        "every grant of the fill is counted"
    );
    let before = store.metrics();
    assert!(store.try_acquire("bulk").await.unwrap().granted);
    store.metrics().write_units - before.write_units
}

#[tokio::test]
async fn a_grant_costs_one_write_unit_at_large_limits() {
    for (limit, fill) in [(1_000, 950), (10_000, 5_000), (100_000, 5_000)] {
        let cost = a_grant_in_a_full_ish_window_costs(limit, fill).await;
        eprintln!("limit {limit}, {fill} grants in the window: the next grant cost {cost} WCU");
        assert!(cost <= 1.0, "limit {limit}: a grant cost {cost} WCU");
    }
}

#[tokio::test]
async fn concurrent_callers_in_one_process_share_writes() {
    let backend = DynamoBackend::fresh().await;
    let store = Arc::new(
        backend
            .limiter(&setup(100, Duration::from_secs(60)))
            .unwrap(),
    );
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.try_acquire("search").await.unwrap().granted })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        granted += u32::from(t.await.unwrap());
    }
    assert_eq!(granted, 32);
    let m = store.metrics();
    assert!(
        m.requests < 32,
        "group commit: {} requests for 32 grants",
        m.requests
    );
}

#[tokio::test]
async fn processes_racing_on_one_window_are_exact() {
    // Eight independent stores (as eight processes) on one table race for 15 slots.
    let backend = DynamoBackend::fresh().await;
    let s = setup(15, Duration::from_secs(60));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::new(backend.limiter(&s).unwrap());
        for _ in 0..4 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let mut granted = 0;
                for _ in 0..3 {
                    granted += u32::from(store.try_acquire("volumes").await.unwrap().granted);
                }
                granted
            }));
        }
    }
    let mut granted = 0;
    for t in tasks {
        granted += t.await.unwrap();
    }
    assert_eq!(granted, 15);
}

mod adaptive {
    use std::sync::Arc;

    use async_trait::async_trait;
    use comic_vine_dynamodb_store::StoreControls;
    use comic_vine_store::conformance::{AdaptiveBackend, Setup};
    use comic_vine_store::{AdaptiveRateLimitStore, StoreResult};

    use super::DynamoBackend;

    #[async_trait]
    impl AdaptiveBackend for DynamoBackend {
        async fn adaptive(&self, setup: &Setup) -> StoreResult<Arc<dyn AdaptiveRateLimitStore>> {
            Ok(Arc::new(self.adaptive_limiter(setup)?))
        }
    }

    comic_vine_store::adaptive_conformance_tests!(DynamoBackend::fresh());

    #[tokio::test]
    async fn an_adaptive_grant_is_one_write_and_a_known_denial_is_free() {
        use comic_vine_store::Priority;
        let backend = DynamoBackend::fresh().await;
        let setup = super::setup(10, std::time::Duration::from_secs(60));
        let store = backend.adaptive_limiter(&setup).unwrap();
        let mut granted = 0;
        while store
            .try_acquire("issues", Priority::User)
            .await
            .unwrap()
            .granted
        {
            granted += 1;
            assert!(granted <= 10, "never more than the limit");
        }
        assert!(granted > 0);
        let after = store.metrics();
        // One read to learn the (empty) state, then one conditional write per grant;
        // the denial decides on the state this process wrote.
        assert_eq!(after.requests, 1 + granted, "{after:?}");
        for _ in 0..5 {
            assert!(
                !store
                    .try_acquire("issues", Priority::User)
                    .await
                    .unwrap()
                    .granted
            );
            assert!(
                !store
                    .try_acquire("issues", Priority::Background)
                    .await
                    .unwrap()
                    .granted
            );
        }
        assert_eq!(
            store.metrics().requests,
            after.requests,
            "denials on a known state send nothing"
        );
    }
}

#[tokio::test]
async fn a_known_window_is_never_read_again() {
    let backend = DynamoBackend::fresh().await;
    let s = Setup::new();
    let store = backend
        .limiter(&s)
        .unwrap()
        .with_limits(RateLimitConfig::new(
            RateLimit::new(200, Duration::from_millis(2)).unwrap(),
        ));
    assert!(store.try_acquire("fast").await.unwrap().granted);
    let reads = store.metrics().read_units;
    for _ in 0..300 {
        s.clock.advance(Duration::from_millis(1));
        assert!(store.try_acquire("fast").await.unwrap().granted);
    }
    let m = store.metrics();
    assert_eq!(m.read_units, reads, "{m:?}");
    assert_eq!(m.requests, 301 + 1, "{m:?}");
}

/// One seeded sequence of rate-limit, adaptive and dedupe operations (one handle each)
/// gives the same outcomes on DynamoDB as in memory: the policy is the core's.
#[tokio::test]
async fn a_replay_matches_the_memory_stores() {
    use comic_vine_store::clock::{Clock, SystemClock, Timestamp};
    use comic_vine_store::conformance::{MemoryBackend, replay};

    let start = Timestamp::from_secs(SystemClock.now().as_secs());
    for seed in [3, 4] {
        let memory = replay::run(&MemoryBackend::default(), seed, 250, 1, start).await;
        let dynamo = replay::run(&DynamoBackend::fresh().await, seed, 250, 1, start).await;
        for (step, (m, d)) in memory.iter().zip(&dynamo).enumerate() {
            assert_eq!(m, d, "seed {seed}, step {step}");
        }
        assert_eq!(memory.len(), dynamo.len());
    }
}

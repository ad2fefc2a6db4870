//! Stale serving in the pipeline, on the in-memory stores, with a manual clock.

use std::error::Error as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use comic_vine_store::memory::{MemoryCacheStore, MemoryDedupeStore, MemoryRateLimitStore};
use comic_vine_store::pipeline::{
    Pipeline, PipelineConfig, PipelineError, RefreshFuture, Refresher, Request, ServedBy,
    StalePolicy, StaleReason, UpstreamError,
};
use comic_vine_store::{
    CacheStore, Clock, ManualClock, RateLimit, RateLimitConfig, RateLimitStore, SharedClock,
};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

const TTL: Duration = Duration::from_secs(60);
const MINUTE: Duration = Duration::from_secs(60);

/// The stores of one "fleet", on one manual clock.
struct Fleet {
    clock: ManualClock,
    cache: MemoryCacheStore,
    dedupe: MemoryDedupeStore,
    limiter: MemoryRateLimitStore,
}

impl Fleet {
    fn new(limit: u32, window: Duration) -> Self {
        let clock = ManualClock::starting_now();
        let shared: SharedClock = Arc::new(clock.clone());
        let limits = RateLimitConfig::new(RateLimit::new(limit, window).unwrap());
        Self {
            cache: MemoryCacheStore::new().with_clock(Arc::clone(&shared)),
            dedupe: MemoryDedupeStore::new().with_clock(Arc::clone(&shared)),
            limiter: MemoryRateLimitStore::new(limits).with_clock(shared),
            clock,
        }
    }

    /// A fleet whose limit (100 an hour) no test here reaches.
    fn roomy() -> Self {
        Self::new(100, Duration::from_secs(3600))
    }

    /// One process's pipeline (its own background refreshes) over the shared stores.
    fn pipeline(
        &self,
        stale: StalePolicy,
        refresher: Option<Arc<dyn Refresher<Value>>>,
    ) -> Pipeline<Value> {
        self.pipeline_fresh_for(TTL, stale, refresher)
    }

    /// As [`pipeline`](Self::pipeline), entries fresh for `ttl`.
    fn pipeline_fresh_for(
        &self,
        ttl: Duration,
        stale: StalePolicy,
        refresher: Option<Arc<dyn Refresher<Value>>>,
    ) -> Pipeline<Value> {
        let mut builder = Pipeline::builder()
            .cache(Arc::new(self.cache.clone()))
            .dedupe(Arc::new(self.dedupe.clone()))
            .rate_limit(Arc::new(self.limiter.clone()))
            .clock(Arc::new(self.clock.clone()))
            .config(PipelineConfig {
                cache_ttl: Some(ttl),
                max_wait: Duration::from_secs(1),
                stale,
                ..PipelineConfig::default()
            });
        if let Some(refresher) = refresher {
            builder = builder.refresher(refresher);
        }
        builder.build()
    }
}

fn swr(window: Duration) -> StalePolicy {
    StalePolicy {
        stale_while_revalidate: window,
        ..StalePolicy::none()
    }
}

/// Stale answers for `window` past freshness when upstream fails, and no other.
fn stale_if_error(window: Duration) -> StalePolicy {
    StalePolicy {
        stale_if_error: window,
        ..StalePolicy::none()
    }
}

/// A refresher that counts its calls and answers `value` once the gate lets it.
struct Gated {
    calls: Arc<AtomicU32>,
    gate: Arc<Semaphore>,
    value: Value,
}

impl Refresher<Value> for Gated {
    fn fetch(&self, _request: &Request, cached: Option<&Value>) -> RefreshFuture<Value> {
        assert_eq!(
            cached,
            Some(&json!("v1")),
            "the refresh sees the stale value"
        );
        let (gate, value) = (Arc::clone(&self.gate), self.value.clone());
        let calls = Arc::clone(&self.calls);
        Box::pin(async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let _permit = gate
                .acquire()
                .await
                .map_err(|e| UpstreamError::Failed(e.into()))?;
            Ok(value)
        })
    }
}

/// `r` is answered stale (while revalidating) and, once `p`'s refreshes are done,
/// `gated` was never called: `why` says why not.
async fn assert_stale_and_not_refreshed(
    p: &Pipeline<Value>,
    r: &Request,
    gated: &Gated,
    why: &str,
) {
    let stale = ok(p, r, json!("not called")).await;
    assert_eq!(stale.stale, Some(StaleReason::WhileRevalidate));
    p.refreshes_idle().await;
    assert_eq!(gated.calls.load(Ordering::SeqCst), 0, "{why}");
}

fn request() -> Request {
    Request::new("issues/list", json!({"limit": 100}), "issues")
}

async fn ok(
    p: &Pipeline<Value>,
    r: &Request,
    value: Value,
) -> comic_vine_store::pipeline::Response<Value> {
    p.execute(r, || async move { Ok(value) }).await.unwrap()
}

/// The next call on `r` (upstream answering `v2`) goes upstream: `why` says when.
async fn assert_fetched_again(p: &Pipeline<Value>, r: &Request, why: &str) {
    let again = ok(p, r, json!("v2")).await;
    assert_eq!(
        (again.served_by, again.value),
        (ServedBy::Upstream, json!("v2")),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn within_swr_eight_processes_answer_stale_at_once_and_one_refresh_runs() {
    let fleet = Fleet::roomy();
    let gated = Arc::new(Gated {
        calls: Arc::default(),
        gate: Arc::new(Semaphore::new(0)),
        value: json!("v2"),
    });
    let processes: Vec<_> = (0..8)
        .map(|_| {
            fleet.pipeline(
                swr(10 * MINUTE),
                Some(gated.clone() as Arc<dyn Refresher<Value>>),
            )
        })
        .collect();
    let r = request();
    assert_eq!(
        ok(&processes[0], &r, json!("v1")).await.served_by,
        ServedBy::Upstream
    );
    fleet.clock.advance(2 * MINUTE);

    let upstream_calls = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = processes
        .iter()
        .map(|p| {
            let (p, r, calls) = (p.clone(), r.clone(), Arc::clone(&upstream_calls));
            tokio::spawn(async move {
                p.execute(&r, || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(json!("not called"))
                })
                .await
                .unwrap()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    for a in &answers {
        assert_eq!(
            (a.served_by, a.stale, &a.value),
            (
                ServedBy::Stale,
                Some(StaleReason::WhileRevalidate),
                &json!("v1")
            )
        );
        assert_eq!(a.age, 2 * MINUTE);
    }
    assert_eq!(
        upstream_calls.load(Ordering::SeqCst),
        0,
        "nobody waited for upstream"
    );
    // Every answer came while the refresh was still held at the gate.
    gated.gate.add_permits(8);
    for p in &processes {
        p.refreshes_idle().await;
    }
    assert_eq!(
        gated.calls.load(Ordering::SeqCst),
        1,
        "exactly one refresh for the fleet"
    );
    let after = ok(&processes[3], &r, json!("not called")).await;
    assert_eq!(
        (after.served_by, after.value),
        (ServedBy::Cache, json!("v2"))
    );
}

#[tokio::test]
async fn swr_refresh_is_skipped_when_the_budget_is_spent_and_past_the_window_the_caller_fetches() {
    let fleet = Fleet::new(2, Duration::from_secs(3600));
    let gated = Arc::new(Gated {
        calls: Arc::default(),
        gate: Arc::new(Semaphore::new(8)),
        value: json!("v2"),
    });
    let p = fleet.pipeline(swr(10 * MINUTE), Some(gated.clone()));
    let r = request();
    ok(&p, &r, json!("v1")).await;
    assert!(
        fleet.limiter.try_acquire("issues").await.unwrap().granted,
        "the last slot"
    );
    fleet.clock.advance(2 * MINUTE);
    assert_stale_and_not_refreshed(&p, &r, &gated, "no slot: not sent, and it does not wait").await;
    let entry = CacheStore::<Value>::get_entry(&fleet.cache, &r.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.value, json!("v1"));
    // The skipped refresh's job does not hold up the next caller.
    let again = ok(&p, &r, json!("not called")).await;
    assert_eq!(again.stale, Some(StaleReason::WhileRevalidate));
    p.refreshes_idle().await;

    // Without a refresher the window is off: the caller goes upstream (and waits).
    fleet.limiter.reset("issues").await.unwrap();
    let plain = fleet.pipeline(swr(10 * MINUTE), None);
    let fetched = ok(&plain, &r, json!("v3")).await;
    assert_eq!(
        (fetched.served_by, fetched.value),
        (ServedBy::Upstream, json!("v3"))
    );
}

async fn failing() -> Result<Value, UpstreamError> {
    Err(UpstreamError::Failed("upstream answered 503".into()))
}

/// An entry fresh for less than the dedupe result grace (10 s) goes stale while the job
/// that stored it is still joinable: the next caller fetches anew instead of joining
/// that finished job and getting the stale value back as a `DedupeJoin`.
#[tokio::test]
async fn a_stale_entry_is_not_answered_again_by_joining_the_job_that_stored_it() {
    let fleet = Fleet::roomy();
    let p = fleet.pipeline_fresh_for(Duration::from_secs(2), stale_if_error(5 * MINUTE), None);
    let r = request();
    assert_eq!(ok(&p, &r, json!("v1")).await.served_by, ServedBy::Upstream);
    fleet.clock.advance(Duration::from_secs(3));
    assert_fetched_again(
        &p,
        &r,
        "past max-age, within the job's grace: fetched again",
    )
    .await;
    assert_eq!(
        ok(&p, &r, json!("v3")).await.value,
        json!("v2"),
        "and fresh again"
    );
}

/// An entry deleted (as a purge or a clear would) while the job that stored it is still
/// in its result grace: the next request fetches anew instead of joining that finished
/// job and getting the removed value back.
#[tokio::test]
async fn a_removed_entry_is_not_answered_again_by_joining_the_job_that_stored_it() {
    let fleet = Fleet::roomy();
    let p = fleet.pipeline(StalePolicy::none(), None);
    let r = request();
    assert_eq!(ok(&p, &r, json!("v1")).await.served_by, ServedBy::Upstream);
    fleet.clock.advance(Duration::from_secs(2));
    fleet.cache.delete(&r.hash()).await.unwrap();
    assert_fetched_again(&p, &r, "removed within the job's grace: fetched again").await;
}

#[tokio::test]
async fn upstream_down_answers_stale_within_stale_if_error_and_fails_after_it() {
    let fleet = Fleet::roomy();
    let p = fleet.pipeline(stale_if_error(5 * MINUTE), None);
    let r = request();
    ok(&p, &r, json!("v1")).await;
    fleet.clock.advance(TTL + 4 * MINUTE);
    let stale = p.execute(&r, failing).await.unwrap();
    assert_eq!(
        (stale.served_by, stale.stale, stale.value),
        (ServedBy::Stale, Some(StaleReason::Error), json!("v1"))
    );
    assert_eq!(stale.age, TTL + 4 * MINUTE);
    fleet.clock.advance(MINUTE);
    let e = p.execute(&r, failing).await.unwrap_err();
    assert!(matches!(e, PipelineError::Upstream { .. }), "{e}");
    let source = e.source().and_then(|s| s.downcast_ref::<UpstreamError>());
    assert!(
        matches!(source, Some(UpstreamError::Failed(_))),
        "the upstream's error is the source: {e:?}"
    );
    assert!(e.to_string().contains("503"), "{e}");
    let fresh_key = Request::new("issues/list", json!({"limit": 1}), "issues");
    assert!(
        p.execute(&fresh_key, failing).await.is_err(),
        "no entry, no stale answer"
    );
}

#[tokio::test]
async fn a_spent_budget_or_a_cooldown_answers_stale_and_never_seen_keys_wait_too_long() {
    let fleet = Fleet::new(1, Duration::from_secs(3600));
    let p = fleet.pipeline(StalePolicy::comic_vine(), None);
    let r = request();
    ok(&p, &r, json!("v1")).await;
    fleet.clock.advance(2 * MINUTE);
    let calls = Arc::new(AtomicU32::new(0));
    let counted = |value: Value| {
        let calls = Arc::clone(&calls);
        move || async move {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(value)
        }
    };
    // The hour's one slot is spent.
    let stale = p.execute(&r, counted(json!("x"))).await.unwrap();
    assert_eq!(
        (stale.served_by, stale.stale),
        (ServedBy::Stale, Some(StaleReason::RateLimited))
    );
    let unseen = Request::new("issues/list", json!({"offset": 100}), "issues");
    let e = p.execute(&unseen, counted(json!("x"))).await.unwrap_err();
    assert!(matches!(e, PipelineError::WaitTooLong { .. }), "{e}");

    // A 420 cooldown, with budget left: stale again, and nobody calls upstream.
    fleet.limiter.reset("issues").await.unwrap();
    fleet
        .limiter
        .cooldown("issues", fleet.clock.now().saturating_add(10 * MINUTE))
        .await
        .unwrap();
    let stale = p.execute(&r, counted(json!("x"))).await.unwrap();
    assert_eq!(stale.stale, Some(StaleReason::RateLimited));
    assert!(matches!(
        p.execute(&unseen, counted(json!("x"))).await,
        Err(PipelineError::WaitTooLong { .. })
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // Upstream answering 429 itself: the owner cools the resource down and answers stale.
    fleet.limiter.reset("issues").await.unwrap();
    let limited = p
        .execute(&r, || async {
            Err(UpstreamError::RateLimited {
                retry_after: Some(MINUTE),
            })
        })
        .await
        .unwrap();
    assert_eq!(limited.stale, Some(StaleReason::RateLimited));
    assert!(
        fleet
            .limiter
            .status("issues")
            .await
            .unwrap()
            .cooldown_until
            .is_some()
    );

    // Past 24 h of staleness the entry is gone: WaitTooLong like any unseen key.
    fleet.clock.advance(Duration::from_secs(24 * 3600));
    assert!(
        fleet.limiter.try_acquire("issues").await.unwrap().granted,
        "the hour's slot"
    );
    let e = p.execute(&r, counted(json!("x"))).await.unwrap_err();
    assert!(matches!(e, PipelineError::WaitTooLong { .. }), "{e}");
}

#[tokio::test]
async fn not_modified_restamps_the_stale_entry_without_rewriting_it() {
    let fleet = Fleet::roomy();
    let p = fleet.pipeline(
        StalePolicy {
            stale_if_error: 60 * MINUTE,
            ..StalePolicy::none()
        },
        None,
    );
    let r = request();
    ok(&p, &r, json!({"etag": "abc", "body": 1})).await;
    fleet.clock.advance(2 * MINUTE);
    let revalidated = p
        .execute_revalidating(&r, |cached| {
            let etag = cached.and_then(|v| v["etag"].as_str()).map(str::to_owned);
            async move {
                assert_eq!(etag.as_deref(), Some("abc"), "the stale value's validator");
                Err(UpstreamError::NotModified)
            }
        })
        .await
        .unwrap();
    assert_eq!(
        (revalidated.served_by, revalidated.age),
        (ServedBy::Revalidated, Duration::ZERO)
    );
    let entry = CacheStore::<Value>::get_entry(&fleet.cache, &r.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (entry.stored_at, entry.fresh_until),
        (fleet.clock.now(), fleet.clock.now().saturating_add(TTL))
    );
    let hit = ok(&p, &r, json!("not called")).await;
    assert_eq!(
        (hit.served_by, hit.value),
        (ServedBy::Cache, json!({"etag": "abc", "body": 1}))
    );

    // NotModified with nothing cached is an error naming the upstream's answer.
    let unseen = Request::new("issues/list", json!({"x": 1}), "issues");
    let e = p
        .execute(&unseen, || async { Err(UpstreamError::NotModified) })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not modified"), "{e}");
}

#[tokio::test]
async fn the_refresh_takes_a_background_slot_never_a_users() {
    use comic_vine_store::memory::MemoryAdaptiveRateLimitStore;
    use comic_vine_store::{AdaptiveConfig, AdaptiveRateLimitStore, Priority};

    let fleet = Fleet::roomy();
    let limits = RateLimitConfig::new(RateLimit::new(20, Duration::from_secs(3600)).unwrap());
    let adaptive = MemoryAdaptiveRateLimitStore::new(limits, AdaptiveConfig::default())
        .unwrap()
        .with_clock(Arc::new(fleet.clock.clone()));
    let gated = Arc::new(Gated {
        calls: Arc::default(),
        gate: Arc::new(Semaphore::new(8)),
        value: json!("v2"),
    });
    let p = Pipeline::builder()
        .cache(Arc::new(fleet.cache.clone()))
        .dedupe(Arc::new(fleet.dedupe.clone()))
        .adaptive_rate_limit(Arc::new(adaptive.clone()))
        .refresher(gated.clone())
        .clock(Arc::new(fleet.clock.clone()))
        .config(PipelineConfig {
            cache_ttl: Some(TTL),
            max_wait: Duration::ZERO,
            stale: swr(10 * MINUTE),
            ..PipelineConfig::default()
        })
        .build();
    let r = request().with_priority(Priority::User);
    ok(&p, &r, json!("v1")).await;
    // Background takes all it may (14 of 20 with no user activity); users keep theirs.
    while adaptive
        .try_acquire("issues", Priority::Background)
        .await
        .unwrap()
        .granted
    {}
    fleet.clock.advance(2 * MINUTE);
    assert_stale_and_not_refreshed(&p, &r, &gated, "no background slot: no refresh").await;
    let user =
        Request::new("issues/list", json!({"offset": 1}), "issues").with_priority(Priority::User);
    let fetched = ok(&p, &user, json!("u")).await;
    assert_eq!(
        fetched.served_by,
        ServedBy::Upstream,
        "a user's slot was left for the user"
    );
}

mod model {
    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Copy, Debug)]
    enum Outcome {
        Ok,
        Fails,
        RateLimited,
    }

    fn window() -> impl Strategy<Value = Duration> {
        prop_oneof![Just(Duration::ZERO), Just(5 * MINUTE), Just(30 * MINUTE)]
    }

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            Just(Outcome::Ok),
            Just(Outcome::Fails),
            Just(Outcome::RateLimited)
        ]
    }

    /// What the policy says: `Ok(Some(reason))` a stale answer, `Ok(None)` a fresh
    /// or upstream one, `Err(())` an error.
    fn expected(
        policy: StalePolicy,
        elapsed: Duration,
        spent: bool,
        outcome: Outcome,
    ) -> Result<(ServedBy, Option<StaleReason>), ()> {
        if elapsed < TTL {
            return Ok((ServedBy::Cache, None));
        }
        let staleness = elapsed - TTL;
        let live = staleness < policy.horizon();
        let within = |w: Duration| live && staleness < w;
        if within(policy.stale_while_revalidate) {
            return Ok((ServedBy::Stale, Some(StaleReason::WhileRevalidate)));
        }
        let rate_limited = within(policy.stale_if_rate_limited);
        if spent {
            return if rate_limited {
                Ok((ServedBy::Stale, Some(StaleReason::RateLimited)))
            } else {
                Err(())
            };
        }
        match outcome {
            Outcome::Ok => Ok((ServedBy::Upstream, None)),
            Outcome::Fails if within(policy.stale_if_error) => {
                Ok((ServedBy::Stale, Some(StaleReason::Error)))
            }
            Outcome::RateLimited if rate_limited => {
                Ok((ServedBy::Stale, Some(StaleReason::RateLimited)))
            }
            _ => Err(()),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Random windows, entry ages, budgets and upstream outcomes: the pipeline
        /// serves exactly as the policy says.
        #[test]
        fn the_pipeline_serves_as_the_policy_says(
            swr in window(), sie in window(), sirl in window(),
            elapsed_secs in 0u64..(45 * 60), spent in any::<bool>(), outcome in outcome(),
        ) {
            let policy = StalePolicy { stale_while_revalidate: swr, stale_if_error: sie, stale_if_rate_limited: sirl };
            let elapsed = Duration::from_secs(elapsed_secs);
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let got = rt.block_on(async {
                let fleet = Fleet::new(1, Duration::from_secs(24 * 3600));
                let gated = Arc::new(Gated { calls: Arc::default(), gate: Arc::new(Semaphore::new(1)), value: json!("v2") });
                let p = fleet.pipeline(policy, Some(gated));
                let r = request();
                ok(&p, &r, json!("v1")).await;
                if !spent {
                    fleet.limiter.reset("issues").await.unwrap();
                }
                fleet.clock.advance(elapsed);
                let answer = p.execute(&r, || async move {
                    match outcome {
                        Outcome::Ok => Ok(json!("v3")),
                        Outcome::Fails => Err(UpstreamError::Failed("500".into())),
                        Outcome::RateLimited => Err(UpstreamError::RateLimited { retry_after: None }),
                    }
                }).await;
                answer.map(|a| (a.served_by, a.stale)).map_err(drop)
            });
            prop_assert_eq!(got, expected(policy, elapsed, spent, outcome));
        }
    }
}

//! The request pipeline on the in-memory stores.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use comic_vine_store::cell::{CellRateLimitStore, StateCell, StateKind, Transition};
use comic_vine_store::clock::{Clock, SharedClock, SystemClock, Timestamp};
use comic_vine_store::conformance::answer;
use comic_vine_store::memory::{
    MemoryCacheStore, MemoryCell, MemoryDedupeStore, MemoryRateLimitStore,
};
use comic_vine_store::pipeline::{
    OutageFallback, Pipeline, PipelineConfig, PipelineError, Request, ServedBy, UpstreamError,
};
use comic_vine_store::{RateLimit, RateLimitConfig, RateLimitStore, StoreError, StoreResult};
use serde_json::{Value, json};
use tokio::sync::watch;

fn limiter(limit: u32, window: Duration) -> MemoryRateLimitStore {
    MemoryRateLimitStore::new(RateLimitConfig::new(RateLimit::new(limit, window).unwrap()))
}

/// A new memory cache and dedupe store, and a limiter of `per_minute` requests a minute.
fn stores(per_minute: u32) -> (MemoryCacheStore, MemoryDedupeStore, MemoryRateLimitStore) {
    let limit = limiter(per_minute, Duration::from_secs(60));
    (MemoryCacheStore::new(), MemoryDedupeStore::new(), limit)
}

fn pipeline(
    cache: &MemoryCacheStore,
    dedupe: &MemoryDedupeStore,
    limiter: &MemoryRateLimitStore,
    max_wait: Duration,
) -> Pipeline<Value> {
    Pipeline::builder()
        .cache(Arc::new(cache.clone()))
        .dedupe(Arc::new(dedupe.clone()))
        .rate_limit(Arc::new(limiter.clone()))
        .config(PipelineConfig {
            max_wait,
            ..PipelineConfig::default()
        })
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_identical_requests_call_upstream_once() {
    let (cache, dedupe, limit) = stores(10);
    let calls = Arc::new(AtomicU32::new(0));
    let request = Request::new("issues/list", json!({"limit": 100}), "issues");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let p = pipeline(&cache, &dedupe, &limit, Duration::from_secs(5));
            let (calls, request) = (Arc::clone(&calls), request.clone());
            tokio::spawn(async move {
                p.execute(&request, || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok(json!({"results": [1, 2, 3]}))
                })
                .await
                .unwrap()
            })
        })
        .collect();
    let mut served = Vec::new();
    for t in tasks {
        let response = t.await.unwrap();
        assert_eq!(response.value, json!({"results": [1, 2, 3]}));
        served.push(response.served_by);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        served.iter().filter(|s| **s == ServedBy::Upstream).count(),
        1,
        "{served:?}"
    );
    assert!(served.contains(&ServedBy::DedupeJoin), "{served:?}");
    assert_eq!(
        limit.status("issues").await.unwrap().remaining,
        9,
        "one grant used"
    );
}

#[tokio::test]
async fn a_420_cools_the_resource_down_for_the_whole_fleet() {
    let (cache, dedupe, limit) = stores(100);
    let first = pipeline(&cache, &dedupe, &limit, Duration::from_millis(200));
    let other_process = pipeline(&cache, &dedupe, &limit, Duration::from_millis(200));
    let err = first
        .execute(
            &Request::new("volumes/list", json!({}), "volumes"),
            || async {
                Err::<Value, _>(UpstreamError::RateLimited {
                    retry_after: Some(Duration::from_secs(30)),
                })
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cooling down"), "{err}");
    let status = limit.status("volumes").await.unwrap();
    assert!(status.cooldown_until.is_some());

    let called = Arc::new(AtomicU32::new(0));
    let c = Arc::clone(&called);
    let err = other_process
        .execute(
            &Request::new("volumes/list", json!({"offset": 100}), "volumes"),
            || async move {
                c.fetch_add(1, Ordering::SeqCst);
                Ok(json!("should not be called"))
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, PipelineError::WaitTooLong { ref resource, .. } if resource == "volumes"),
        "{err}"
    );
    assert_eq!(
        called.load(Ordering::SeqCst),
        0,
        "nobody calls a cooling resource"
    );
    // Other resources are not affected.
    let ok = other_process
        .execute(
            &Request::new("issues/list", json!({}), "issues"),
            || async { Ok(json!(1)) },
        )
        .await
        .unwrap();
    assert_eq!(ok.served_by, ServedBy::Upstream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owners_failure_reaches_joiners() {
    let (cache, dedupe, limit) = stores(10);
    let request = Request::new("search", json!({"query": "batman"}), "search");
    let owner = pipeline(&cache, &dedupe, &limit, Duration::from_secs(1));
    let joiner = pipeline(&cache, &dedupe, &limit, Duration::from_secs(1));
    let r = request.clone();
    let owned = tokio::spawn(async move {
        owner
            .execute(&r, || async {
                tokio::time::sleep(Duration::from_millis(150)).await;
                Err::<Value, _>(UpstreamError::Failed("upstream answered 500".into()))
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    let joined = joiner
        .execute(&request, || async { Ok(json!("not me")) })
        .await;
    let owner_err = owned.await.unwrap().unwrap_err();
    assert!(
        owner_err.to_string().contains("upstream answered 500"),
        "{owner_err}"
    );
    let joined_err = joined.unwrap_err();
    assert!(
        joined_err.to_string().contains("upstream answered 500"),
        "{joined_err}"
    );
    use comic_vine_store::CacheStore;
    assert_eq!(
        CacheStore::<Value>::get(&cache, &request.hash())
            .await
            .unwrap(),
        None,
        "a failure is not cached"
    );
}

/// A clock that follows tokio's time. Under `start_paused` that time moves only while
/// every task sleeps, and then exactly to the next timer, so a test reads how long the
/// pipeline slept without reading the wall clock (nothing flakes under load).
#[derive(Debug)]
struct TokioClock {
    origin: tokio::time::Instant,
    at: Timestamp,
}

impl TokioClock {
    fn shared() -> SharedClock {
        Arc::new(Self {
            origin: tokio::time::Instant::now(),
            at: Timestamp::from_secs(1_800_000_000),
        })
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        self.at.saturating_add(self.origin.elapsed())
    }
}

/// A limiter of `limit` per `window` on a [`TokioClock`].
fn paused_limiter(limit: u32, window: Duration) -> MemoryRateLimitStore {
    limiter(limit, window).with_clock(TokioClock::shared())
}

#[tokio::test(start_paused = true)]
async fn a_full_window_fails_fast_instead_of_waiting_past_the_bound() {
    let limit = paused_limiter(1, Duration::from_secs(3600));
    let p: Pipeline<Value> = Pipeline::builder()
        .rate_limit(Arc::new(limit.clone()))
        .config(PipelineConfig {
            max_wait: Duration::from_secs(1),
            ..PipelineConfig::default()
        })
        .build();
    let first = answer(&p, &Request::new("a", json!(1), "people"), json!("a")).await;
    assert_eq!(first.served_by, ServedBy::Upstream);
    let started = tokio::time::Instant::now();
    let err = p
        .execute(&Request::new("b", json!(2), "people"), || async {
            Ok(json!("b"))
        })
        .await
        .unwrap_err();
    match &err {
        PipelineError::WaitTooLong { wait, max_wait, .. } => assert_eq!(
            (*wait, *max_wait),
            (Duration::from_secs(3600), Duration::from_secs(1))
        ),
        other => panic!("expected WaitTooLong, got {other}"),
    }
    // Paused time moves only when the pipeline sleeps: it answered without a sleep.
    assert_eq!(started.elapsed(), Duration::ZERO, "it did not wait");
}

#[tokio::test(start_paused = true)]
async fn the_response_counts_the_owners_rate_limit_waits() {
    let limit = paused_limiter(1, Duration::from_millis(300));
    let p: Pipeline<Value> = Pipeline::builder().rate_limit(Arc::new(limit)).build();
    let first = answer(&p, &Request::new("a", json!(1), "teams"), json!("a")).await;
    assert_eq!(first.rate_limit_waits, 0);
    let started = tokio::time::Instant::now();
    let second = answer(&p, &Request::new("b", json!(2), "teams"), json!("b")).await;
    assert_eq!(
        (second.served_by, second.rate_limit_waits),
        (ServedBy::Upstream, 1)
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(300),
        "it slept the window out, once"
    );
}

/// A state cell that can be switched off: while off, every call fails with `error()`
/// (a test double standing in for an unreachable shared store under the core's
/// limiter; the DynamoDB tests cut a real one off).
struct SwitchableCell {
    inner: MemoryCell,
    off: std::sync::atomic::AtomicBool,
    error: fn() -> StoreError,
}

impl SwitchableCell {
    fn check(&self) -> StoreResult<()> {
        match self.off.load(Ordering::SeqCst) {
            true => Err((self.error)()),
            false => Ok(()),
        }
    }
}

#[async_trait]
impl StateCell for SwitchableCell {
    async fn update(&self, kind: StateKind, key: &str, transition: Transition) -> StoreResult<()> {
        self.check()?;
        self.inner.update(kind, key, transition).await
    }
    async fn load(&self, kind: StateKind, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.check()?;
        self.inner.load(kind, key).await
    }
    async fn remove(&self, kind: StateKind, key: &str) -> StoreResult<()> {
        self.check()?;
        self.inner.remove(kind, key).await
    }
    fn changes(&self) -> Option<watch::Receiver<u64>> {
        self.inner.changes()
    }
}

/// The core's limiter (10 a minute) over a [`SwitchableCell`], switched off.
type Switchable = CellRateLimitStore<SwitchableCell>;

fn switchable(error: fn() -> StoreError) -> Arc<Switchable> {
    let cell = SwitchableCell {
        inner: MemoryCell::new(),
        off: true.into(),
        error,
    };
    let limits = RateLimitConfig::new(RateLimit::new(10, Duration::from_secs(60)).unwrap());
    Arc::new(CellRateLimitStore::new(
        Arc::new(cell),
        limits,
        Arc::new(SystemClock),
    ))
}

fn breaker_open() -> StoreError {
    StoreError::CircuitBreakerOpen {
        retry_after: Duration::from_secs(30),
    }
}

fn with_fallback(limiter: &Arc<Switchable>, processes: u32) -> Pipeline<Value> {
    let fleet = RateLimitConfig::new(RateLimit::new(10, Duration::from_secs(60)).unwrap());
    Pipeline::builder()
        .rate_limit(Arc::clone(limiter) as Arc<dyn RateLimitStore>)
        .outage_fallback(OutageFallback::share_of(&fleet, processes).unwrap())
        .config(PipelineConfig {
            max_wait: Duration::ZERO,
            ..PipelineConfig::default()
        })
        .build()
}

#[tokio::test]
async fn while_the_limiter_is_down_the_fallback_allows_this_process_share() {
    let limiter = switchable(breaker_open);
    let pipeline = with_fallback(&limiter, 4);
    let mut outcomes = Vec::new();
    for page in 0..5 {
        let request = Request::new("issues/list", json!({ "page": page }), "issues");
        outcomes.push(
            pipeline
                .execute(&request, || async { Ok(json!(page)) })
                .await
                .map(|r| r.degraded),
        );
    }
    // 10 ÷ 4 processes = 2 calls per window.
    assert!(
        matches!(outcomes[..2], [Ok(true), Ok(true)]),
        "{outcomes:?}"
    );
    assert!(
        outcomes[2..]
            .iter()
            .all(|o| matches!(o, Err(PipelineError::WaitTooLong { .. }))),
        "{outcomes:?}"
    );
    assert!(pipeline.is_degraded());

    limiter.cell().off.store(false, Ordering::SeqCst);
    let request = Request::new("issues/list", json!({ "page": 9 }), "issues");
    let back = answer(&pipeline, &request, json!(9)).await;
    assert!(!back.degraded && !pipeline.is_degraded());
    assert_eq!(
        limiter.status("issues").await.unwrap().remaining,
        9,
        "the shared limiter counts again"
    );
}

#[tokio::test]
async fn without_a_fallback_or_for_bad_input_store_errors_fail_the_request() {
    let limiter = switchable(breaker_open);
    let pipeline = Pipeline::<Value>::builder()
        .rate_limit(Arc::clone(&limiter) as Arc<dyn RateLimitStore>)
        .build();
    let request = Request::new("issues/list", json!({}), "issues");
    let e = pipeline
        .execute(&request, || async { Ok(json!(1)) })
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            PipelineError::Store(StoreError::CircuitBreakerOpen { .. })
        ),
        "{e}"
    );

    let refusing = switchable(|| StoreError::invalid_input("resource", "rejected"));
    let e = with_fallback(&refusing, 4)
        .execute(&request, || async { Ok(json!(1)) })
        .await
        .unwrap_err();
    assert!(
        matches!(e, PipelineError::Store(StoreError::InvalidInput { .. })),
        "not an outage: {e}"
    );
}

//! Rate-limit cases.

use std::sync::Arc;
use std::time::Duration;

use super::{RateLimitBackend, Setup};
use crate::clock::{Clock, Timestamp};
use crate::config::{RateLimit, RateLimitConfig};
use crate::error::StoreError;

fn setup_with(limit: u32, window: Duration) -> Setup {
    Setup {
        rate_limits: RateLimitConfig::new(RateLimit::new(limit, window).unwrap()),
        ..Setup::new()
    }
}

/// 8 handles × 8 tasks race for a limit of 10: exactly 10 grants.
pub async fn rate_limit_never_exceeds_under_concurrency(b: &impl RateLimitBackend) {
    let setup = setup_with(10, Duration::from_secs(60));
    let mut tasks = Vec::new();
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    for _ in 0..8 {
        let store = b.rate_limit(&setup).await.unwrap();
        for _ in 0..8 {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let mut granted = 0;
                for _ in 0..3 {
                    if store.try_acquire("issues").await.unwrap().granted {
                        granted += 1;
                    }
                }
                granted
            }));
        }
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 10, "exactly the limit is granted");
}

/// Grants up to the limit, then waits exactly until the oldest grant leaves.
pub async fn rate_limit_window_slides(b: &impl RateLimitBackend) {
    let setup = setup_with(3, Duration::from_secs(10));
    let s = b.rate_limit(&setup).await.unwrap();
    for expected_remaining in [2, 1, 0] {
        let d = s.try_acquire("volumes").await.unwrap();
        assert!(d.granted);
        assert_eq!(d.remaining, expected_remaining);
        assert_eq!(d.limit, 3);
        setup.clock.advance(Duration::from_secs(1));
    }
    setup.clock.advance(Duration::from_secs(2));
    let denied = s.try_acquire("volumes").await.unwrap();
    assert!(!denied.granted);
    assert_eq!(denied.wait, Duration::from_secs(5));
    assert_eq!(
        s.wait_time("volumes").await.unwrap(),
        Duration::from_secs(5)
    );
    setup.clock.advance(Duration::from_secs(5));
    assert_eq!(s.wait_time("volumes").await.unwrap(), Duration::ZERO);
    assert!(s.try_acquire("volumes").await.unwrap().granted);
    assert!(!s.try_acquire("volumes").await.unwrap().granted);
}

/// `status` reports remaining, limit, window and reset time; `reset` frees everything.
pub async fn rate_limit_status_and_reset(b: &impl RateLimitBackend) {
    let setup = setup_with(5, Duration::from_secs(60));
    let s = b.rate_limit(&setup).await.unwrap();
    let fresh = s.status("characters").await.unwrap();
    assert_eq!(
        (fresh.remaining, fresh.limit, fresh.window),
        (5, 5, Duration::from_secs(60))
    );
    let first = s
        .try_acquire("characters")
        .await
        .unwrap()
        .granted_at
        .unwrap();
    s.try_acquire("characters").await.unwrap();
    let status = s.status("characters").await.unwrap();
    assert_eq!(status.remaining, 3);
    assert_eq!(
        status.reset_at,
        first.saturating_add(Duration::from_secs(60))
    );
    assert!(status.adaptive.is_none() && status.cooldown_until.is_none());
    s.reset("characters").await.unwrap();
    assert_eq!(s.status("characters").await.unwrap().remaining, 5);
}

/// `can_proceed` counts nothing; `record` counts even over the limit.
pub async fn rate_limit_can_proceed_and_record(b: &impl RateLimitBackend) {
    let setup = setup_with(2, Duration::from_secs(60));
    let s = b.rate_limit(&setup).await.unwrap();
    for _ in 0..5 {
        assert!(s.can_proceed("search").await.unwrap());
    }
    s.record("search").await.unwrap();
    s.record("search").await.unwrap();
    assert!(!s.can_proceed("search").await.unwrap());
    s.record("search").await.unwrap();
    assert!(!s.try_acquire("search").await.unwrap().granted);
    assert!(s.wait_time("search").await.unwrap() > Duration::ZERO);
}

/// Resources are limited independently, each by its own configured limit.
pub async fn rate_limit_per_resource(b: &impl RateLimitBackend) {
    let mut setup = setup_with(1, Duration::from_secs(60));
    setup.rate_limits = setup
        .rate_limits
        .with_resource(
            "issues",
            RateLimit::new(3, Duration::from_secs(60)).unwrap(),
        )
        .unwrap();
    let s = b.rate_limit(&setup).await.unwrap();
    assert!(s.try_acquire("people").await.unwrap().granted);
    assert!(!s.try_acquire("people").await.unwrap().granted);
    for _ in 0..3 {
        assert!(s.try_acquire("issues").await.unwrap().granted);
    }
    assert!(!s.try_acquire("issues").await.unwrap().granted);
    assert!(s.try_acquire("teams").await.unwrap().granted);
    assert_eq!(s.status("issues").await.unwrap().limit, 3);
}

/// A cooldown stops every handle until it ends; a shorter one does not shorten it.
pub async fn rate_limit_cooldown(b: &impl RateLimitBackend) {
    let setup = setup_with(10, Duration::from_secs(60));
    let a = b.rate_limit(&setup).await.unwrap();
    let other = b.rate_limit(&setup).await.unwrap();
    let until = setup.clock.now().saturating_add(Duration::from_secs(30));
    a.cooldown("publishers", until).await.unwrap();
    a.cooldown(
        "publishers",
        setup.clock.now().saturating_add(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    let d = other.try_acquire("publishers").await.unwrap();
    assert!(!d.granted);
    assert_eq!(d.wait, Duration::from_secs(30));
    assert_eq!(
        other.status("publishers").await.unwrap().cooldown_until,
        Some(until)
    );
    setup.clock.advance(Duration::from_secs(30));
    assert!(other.try_acquire("publishers").await.unwrap().granted);
}

/// Two handles whose clocks differ by 500 ms: recorded grant times never go backwards
/// and no window-length interval of them holds more than the limit.
pub async fn rate_limit_clock_skew(b: &impl RateLimitBackend) {
    let setup = setup_with(4, Duration::from_secs(2));
    let ahead = b.rate_limit(&setup.skewed(500)).await.unwrap();
    let behind = b.rate_limit(&setup).await.unwrap();
    let mut times: Vec<Timestamp> = Vec::new();
    for step in 0..40 {
        let store = if step % 2 == 0 { &ahead } else { &behind };
        let d = store.try_acquire("skew").await.unwrap();
        if let Some(at) = d.granted_at {
            times.push(at);
        }
        setup.clock.advance(Duration::from_millis(150));
    }
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    for (i, start) in times.iter().enumerate() {
        let end = start.saturating_add(Duration::from_secs(2));
        let n = times[i..].iter().take_while(|t| **t < end).count();
        assert!(n <= 4, "{n} grants in the 2 s from {start}");
    }
    assert!(
        times.len() >= 8,
        "the limit is used, not starved: {}",
        times.len()
    );
}

/// A limit too large for the exact log (1,000 per 64 s: 1 s buckets): 32 racing tasks
/// get exactly the limit; denial, `wait_time` and `status` agree; the wait is enough
/// and at most one bucket longer than the exact log's; a lower limit (the log form)
/// reads the same grants conservatively.
pub async fn rate_limit_large_limit_is_bucketed(b: &impl RateLimitBackend) {
    let window = Duration::from_secs(64);
    let setup = setup_with(1_000, window);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = b.rate_limit(&setup).await.unwrap();
        for _ in 0..4 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let mut granted = 0u32;
                for _ in 0..35 {
                    // `Contention` (a backend gave up after many lost compare-and-swap
                    // races between the 8 handles) is transient: the call is retried,
                    // and the exact total below still holds.
                    let decision = loop {
                        match store.try_acquire("bulk").await {
                            Err(StoreError::Contention { .. }) => continue,
                            other => break other.unwrap(),
                        }
                    };
                    granted += u32::from(decision.granted);
                }
                granted
            }));
        }
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 1_000, "exactly the limit is granted");
    let s = b.rate_limit(&setup).await.unwrap();
    let denied = s.try_acquire("bulk").await.unwrap();
    assert!(!denied.granted);
    assert!(denied.wait >= window && denied.wait < window + Duration::from_secs(1));
    assert_eq!(s.wait_time("bulk").await.unwrap(), denied.wait);
    let status = s.status("bulk").await.unwrap();
    assert_eq!((status.remaining, status.limit), (0, 1_000));
    assert_eq!(
        status.reset_at,
        setup.clock.now().saturating_add(denied.wait)
    );
    let mut lowered = setup.clone();
    lowered.rate_limits = RateLimitConfig::new(RateLimit::new(10, window).unwrap());
    let small = b.rate_limit(&lowered).await.unwrap();
    assert!(!small.try_acquire("bulk").await.unwrap().granted);
    setup.clock.advance(denied.wait - Duration::from_millis(1));
    assert!(!s.can_proceed("bulk").await.unwrap());
    setup.clock.advance(Duration::from_millis(1));
    let d = s.try_acquire("bulk").await.unwrap();
    assert!(d.granted, "waiting the returned time is enough");
    assert_eq!(d.remaining, 999);
}

/// Bad resource names are typed errors.
pub async fn rate_limit_rejects_bad_input(b: &impl RateLimitBackend) {
    let s = b.rate_limit(&Setup::new()).await.unwrap();
    for bad in ["", "new\nline"] {
        let e = s.try_acquire(bad).await.unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::InvalidInput {
                    field: "resource",
                    ..
                }
            ),
            "{e}"
        );
        assert!(s.status(bad).await.is_err());
        assert!(s.reset(bad).await.is_err());
    }
}

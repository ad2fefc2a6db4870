//! Adaptive rate-limit cases.

use std::sync::Arc;
use std::time::Duration;

use super::{AdaptiveBackend, Setup};
use crate::adaptive::{AdaptiveRateLimitStore, Priority};
use crate::config::{RateLimit, RateLimitConfig};

fn setup_with(limit: u32, window: Duration) -> Setup {
    let mut setup = Setup {
        rate_limits: RateLimitConfig::new(RateLimit::new(limit, window).unwrap()),
        ..Setup::new()
    };
    setup.adaptive.recalculation_interval = Duration::from_secs(1);
    setup
}

/// Whether one `try_acquire` of `priority` on `resource` is granted.
async fn granted(s: &dyn AdaptiveRateLimitStore, resource: &str, priority: Priority) -> bool {
    s.try_acquire(resource, priority).await.unwrap().granted
}

/// How many of `n` successive `try_acquire`s of `priority` on `resource` are granted.
async fn grants(
    s: &dyn AdaptiveRateLimitStore,
    resource: &str,
    priority: Priority,
    n: usize,
) -> usize {
    let mut count = 0;
    for _ in 0..n {
        count += usize::from(granted(s, resource, priority).await);
    }
    count
}

/// With no activity yet, background may take 70 % and users keep 30 %.
pub async fn adaptive_background_keeps_user_reserve(b: &impl AdaptiveBackend) {
    let setup = setup_with(20, Duration::from_secs(60));
    let s = b.adaptive(&setup).await.unwrap();
    assert_eq!(grants(&*s, "issues", Priority::Background, 20).await, 14);
    assert_eq!(grants(&*s, "issues", Priority::User, 10).await, 6);
}

/// User traffic through one handle shrinks background capacity seen by another.
pub async fn adaptive_activity_is_shared(b: &impl AdaptiveBackend) {
    let setup = setup_with(100, Duration::from_secs(3600));
    let web = b.adaptive(&setup).await.unwrap();
    let worker = b.adaptive(&setup).await.unwrap();
    assert!(granted(&*worker, "search", Priority::Background).await);
    for _ in 0..12 {
        assert!(granted(&*web, "search", Priority::User).await);
        setup.clock.advance(Duration::from_millis(10));
    }
    setup.clock.advance(Duration::from_secs(2));
    let status = worker.status("search").await.unwrap();
    let split = status.adaptive.expect("adaptive stores report their split");
    assert_eq!(split.recent_user_activity, 12);
    assert_eq!((split.user_reserved, split.background_max), (90, 10));
    assert!(split.background_paused, "{}", split.reason);
    assert!(!granted(&*worker, "search", Priority::Background).await);
    assert!(granted(&*web, "search", Priority::User).await);
}

/// `status` reports the split with a reason, and the window's remaining capacity.
pub async fn adaptive_status_reports_split(b: &impl AdaptiveBackend) {
    let setup = setup_with(200, Duration::from_secs(3600));
    let s = b.adaptive(&setup).await.unwrap();
    let status = s.status("volumes").await.unwrap();
    assert_eq!((status.limit, status.remaining), (200, 200));
    let split = status.adaptive.unwrap();
    assert_eq!((split.user_reserved, split.background_max), (60, 140));
    assert!(split.reason.contains("no activity"), "{}", split.reason);
    s.try_acquire("volumes", Priority::User).await.unwrap();
    assert_eq!(s.status("volumes").await.unwrap().remaining, 199);
    s.reset("volumes").await.unwrap();
    assert_eq!(s.status("volumes").await.unwrap().remaining, 200);
}

/// Mixed priorities from 4 handles × 8 tasks never exceed the whole limit.
pub async fn adaptive_never_exceeds_under_concurrency(b: &impl AdaptiveBackend) {
    let setup = setup_with(12, Duration::from_secs(60));
    let mut tasks = Vec::new();
    for h in 0..4 {
        let store = b.adaptive(&setup).await.unwrap();
        for t in 0..8 {
            let store = Arc::clone(&store);
            let priority = if (h + t) % 2 == 0 {
                Priority::User
            } else {
                Priority::Background
            };
            tasks.push(tokio::spawn(async move {
                grants(&*store, "characters", priority, 3).await
            }));
        }
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(
        total, 12,
        "users take what background leaves, never more than the limit"
    );
}

/// Background waits while users still may go.
pub async fn adaptive_wait_time_per_priority(b: &impl AdaptiveBackend) {
    let setup = setup_with(10, Duration::from_secs(60));
    let s = b.adaptive(&setup).await.unwrap();
    // No activity yet: users keep max(30 %, 5) = 5 of 10, background gets 5.
    for _ in 0..5 {
        assert!(granted(&*s, "teams", Priority::Background).await);
    }
    assert!(s.wait_time("teams", Priority::Background).await.unwrap() > Duration::ZERO);
    assert!(!s.can_proceed("teams", Priority::Background).await.unwrap());
    assert_eq!(
        s.wait_time("teams", Priority::User).await.unwrap(),
        Duration::ZERO
    );
    assert!(s.can_proceed("teams", Priority::User).await.unwrap());
    s.record("teams", Priority::User).await.unwrap();
    assert_eq!(s.status("teams").await.unwrap().remaining, 4);
}

/// A cooldown set through one handle denies both priorities on another until it ends;
/// a shorter one never shortens it; `status` reports it.
pub async fn adaptive_cooldown(b: &impl AdaptiveBackend) {
    let setup = setup_with(10, Duration::from_secs(60));
    let a = b.adaptive(&setup).await.unwrap();
    let other = b.adaptive(&setup).await.unwrap();
    let until = crate::clock::Clock::now(&setup.clock).saturating_add(Duration::from_secs(30));
    a.cooldown("issues", until).await.unwrap();
    a.cooldown("issues", until.saturating_sub(Duration::from_secs(20)))
        .await
        .unwrap();
    for p in [Priority::User, Priority::Background] {
        let d = other.try_acquire("issues", p).await.unwrap();
        assert!(!d.granted, "{p}: {d:?}");
        assert!(d.wait >= Duration::from_secs(30), "{p}: {d:?}");
    }
    assert_eq!(
        other.status("issues").await.unwrap().cooldown_until,
        Some(until)
    );
    setup.clock.advance(Duration::from_secs(30));
    assert!(granted(&*other, "issues", Priority::User).await);
    assert_eq!(other.status("issues").await.unwrap().cooldown_until, None);
}

/// `record` counts a request of either priority against the whole limit (even over
/// it), counts user requests as activity, and stores the split in force on the new
/// state: recalculated when stale, so `status` reports the split of the record's time.
pub async fn adaptive_record(b: &impl AdaptiveBackend) {
    let setup = setup_with(10, Duration::from_secs(60));
    let a = b.adaptive(&setup).await.unwrap();
    let other = b.adaptive(&setup).await.unwrap();
    a.status("volumes").await.unwrap();
    setup.clock.advance(Duration::from_secs(2));
    let recorded_at = crate::clock::Clock::now(&setup.clock);
    a.record("volumes", Priority::User).await.unwrap();
    setup.clock.advance(Duration::from_millis(500));
    let split = other.status("volumes").await.unwrap().adaptive.unwrap();
    assert_eq!(split.calculated_at, recorded_at, "{split:?}");
    assert_eq!(split.recent_user_activity, 1, "{split:?}");
    a.record("volumes", Priority::Background).await.unwrap();
    assert_eq!(other.status("volumes").await.unwrap().remaining, 8);
    for _ in 0..9 {
        a.record("volumes", Priority::User).await.unwrap();
    }
    let d = other.try_acquire("volumes", Priority::User).await.unwrap();
    assert!(!d.granted && d.remaining == 0, "{d:?}");
}

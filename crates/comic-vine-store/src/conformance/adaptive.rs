//! Adaptive rate-limit cases.

use std::sync::Arc;
use std::time::Duration;

use super::{AdaptiveBackend, Setup};
use crate::adaptive::Priority;
use crate::config::{RateLimit, RateLimitConfig};

fn setup_with(limit: u32, window: Duration) -> Setup {
    let mut setup = Setup {
        rate_limits: RateLimitConfig::new(RateLimit::new(limit, window).unwrap()),
        ..Setup::new()
    };
    setup.adaptive.recalculation_interval = Duration::from_secs(1);
    setup
}

/// With no activity yet, background may take 70 % and users keep 30 %.
pub async fn adaptive_background_keeps_user_reserve(b: &impl AdaptiveBackend) {
    let setup = setup_with(20, Duration::from_secs(60));
    let s = b.adaptive(&setup).await.unwrap();
    let mut background = 0;
    for _ in 0..20 {
        if s.try_acquire("issues", Priority::Background)
            .await
            .unwrap()
            .granted
        {
            background += 1;
        }
    }
    assert_eq!(background, 14);
    let mut users = 0;
    for _ in 0..10 {
        if s.try_acquire("issues", Priority::User)
            .await
            .unwrap()
            .granted
        {
            users += 1;
        }
    }
    assert_eq!(users, 6);
}

/// User traffic through one handle shrinks background capacity seen by another.
pub async fn adaptive_activity_is_shared(b: &impl AdaptiveBackend) {
    let setup = setup_with(100, Duration::from_secs(3600));
    let web = b.adaptive(&setup).await.unwrap();
    let worker = b.adaptive(&setup).await.unwrap();
    assert!(
        worker
            .try_acquire("search", Priority::Background)
            .await
            .unwrap()
            .granted
    );
    for _ in 0..12 {
        assert!(
            web.try_acquire("search", Priority::User)
                .await
                .unwrap()
                .granted
        );
        setup.clock.advance(Duration::from_millis(10));
    }
    setup.clock.advance(Duration::from_secs(2));
    let status = worker.status("search").await.unwrap();
    let split = status.adaptive.expect("adaptive stores report their split");
    assert_eq!(split.recent_user_activity, 12);
    assert_eq!((split.user_reserved, split.background_max), (90, 10));
    assert!(split.background_paused, "{}", split.reason);
    assert!(
        !worker
            .try_acquire("search", Priority::Background)
            .await
            .unwrap()
            .granted
    );
    assert!(
        web.try_acquire("search", Priority::User)
            .await
            .unwrap()
            .granted
    );
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
                let mut granted = 0;
                for _ in 0..3 {
                    if store
                        .try_acquire("characters", priority)
                        .await
                        .unwrap()
                        .granted
                    {
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
        assert!(
            s.try_acquire("teams", Priority::Background)
                .await
                .unwrap()
                .granted
        );
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

//! The adaptive split of a limit between user and background requests.
//!
//! The strategies of the original calculator, by recent user activity, in whole
//! requests (the original could hand out fractions):
//! - high (≥ `high_activity_threshold`): users get `min(90 %, 50 % × max_user_scaling)`;
//!   background pauses when the trend is increasing (if configured);
//! - moderate (≥ `moderate_activity_threshold`): users get 40 % × a multiplier from
//!   activity and trend, at most 70 %;
//! - none in the window: no request of any kind ever → 30 % (at least the minimum);
//!   only background so far → the minimum; users idle longer than the inactivity
//!   threshold → everything to background; users idle for less → the minimum;
//! - otherwise (low) → 30 % (at least the minimum).

use serde::{Deserialize, Serialize};

use crate::adaptive::{AdaptiveStatus, Trend};
use crate::clock::Timestamp;
use crate::config::AdaptiveConfig;

/// What the calculation looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivitySummary {
    /// User requests in the monitoring window.
    pub recent_user: u32,
    /// The user trend.
    pub trend: Trend,
    /// The newest user request ever seen, if any.
    pub last_user_at: Option<Timestamp>,
    /// Whether any background request was ever seen.
    pub background_seen: bool,
}

/// Splits `limit` between users and background at `now`.
///
/// ```
/// use comic_vine_store::adaptive::Trend;
/// use comic_vine_store::algorithm::capacity::{calculate, ActivitySummary};
/// use comic_vine_store::clock::Timestamp;
/// use comic_vine_store::config::AdaptiveConfig;
///
/// let now = Timestamp::from_secs(10_000);
/// let busy = ActivitySummary {
///     recent_user: 12, trend: Trend::Stable, last_user_at: Some(now), background_seen: true,
/// };
/// let split = calculate(200, &busy, now, &AdaptiveConfig::default());
/// assert_eq!((split.user_reserved, split.background_max), (180, 20));
/// ```
pub fn calculate(
    limit: u32,
    activity: &ActivitySummary,
    now: Timestamp,
    config: &AdaptiveConfig,
) -> AdaptiveStatus {
    let l = f64::from(limit);
    let minutes = config.monitoring_window.as_secs_f64() / 60.0;
    let recent = activity.recent_user;
    let min_reserved = config.min_user_reserved.min(limit);
    let low_share = (floor(l * 0.3)).max(min_reserved);

    let (user, paused, reason) = if recent >= config.high_activity_threshold {
        let user = floor(l * 0.9).min(floor(l * 0.5 * config.max_user_scaling));
        let paused =
            config.background_pause_on_increasing_trend && activity.trend == Trend::Increasing;
        (
            user,
            paused,
            format!("high user activity ({recent} requests/{minutes}min): prioritizing users"),
        )
    } else if recent >= config.moderate_activity_threshold {
        let multiplier = user_multiplier(recent, activity.trend, config);
        let base = floor(l * 0.4);
        let user = floor(l * 0.7).min(floor(f64::from(base) * multiplier));
        (
            user,
            false,
            format!("moderate user activity: dynamic scaling ({multiplier:.1}x user capacity)"),
        )
    } else if recent == 0 {
        match activity.last_user_at {
            None if !activity.background_seen => (
                low_share,
                false,
                "no activity yet: default split".to_owned(),
            ),
            None => (
                min_reserved,
                false,
                "background only so far: minimal user buffer".to_owned(),
            ),
            Some(last) => {
                let idle = now.saturating_duration_since(last);
                if idle > config.sustained_inactivity_threshold {
                    (
                        0,
                        false,
                        format!(
                            "sustained zero user activity ({}+ min): full capacity to background",
                            idle.as_secs() / 60
                        ),
                    )
                } else {
                    (
                        min_reserved,
                        false,
                        "recent zero user activity: background scale-up with minimal user buffer"
                            .to_owned(),
                    )
                }
            }
        }
    } else {
        (
            low_share,
            false,
            format!("low user activity ({recent} requests/{minutes}min): background scale-up"),
        )
    };
    let user = user.min(limit);
    AdaptiveStatus {
        user_reserved: user,
        background_max: limit - user,
        background_paused: paused,
        recent_user_activity: recent,
        trend: activity.trend,
        reason,
        calculated_at: now,
    }
}

/// The original's multiplier: `min(scaling, 1 + activity / high)`, ×1.2 on an increasing
/// trend, ×0.8 on a decreasing one, at least 1.
fn user_multiplier(activity: u32, trend: Trend, config: &AdaptiveConfig) -> f64 {
    let mut m = config
        .max_user_scaling
        .min(1.0 + f64::from(activity) / f64::from(config.high_activity_threshold));
    match trend {
        Trend::Increasing => m *= 1.2,
        Trend::Decreasing => m *= 0.8,
        Trend::Stable | Trend::None => {}
    }
    m.max(1.0)
}

fn floor(x: f64) -> u32 {
    // Saturating float-to-int cast: NaN → 0, negatives → 0, huge → u32::MAX.
    x.floor() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    const NOW: Timestamp = Timestamp::from_millis(100_000_000);

    fn summary(recent: u32, trend: Trend, last_user_ago: Option<u64>, bg: bool) -> ActivitySummary {
        ActivitySummary {
            recent_user: recent,
            trend,
            last_user_at: last_user_ago.map(|s| NOW.saturating_sub(Duration::from_secs(s))),
            background_seen: bg,
        }
    }

    fn split(limit: u32, s: ActivitySummary) -> (u32, u32, bool) {
        let c = calculate(limit, &s, NOW, &AdaptiveConfig::default());
        (c.user_reserved, c.background_max, c.background_paused)
    }

    #[test]
    fn high_activity_prioritizes_users_and_pauses_on_increasing_trend() {
        assert_eq!(
            split(200, summary(15, Trend::Increasing, Some(1), true)),
            (180, 20, true)
        );
        assert_eq!(
            split(200, summary(15, Trend::Stable, Some(1), true)),
            (180, 20, false)
        );
        let no_pause = AdaptiveConfig {
            background_pause_on_increasing_trend: false,
            max_user_scaling: 1.2,
            ..Default::default()
        };
        let c = calculate(
            200,
            &summary(10, Trend::Increasing, Some(1), true),
            NOW,
            &no_pause,
        );
        assert_eq!((c.user_reserved, c.background_paused), (120, false));
    }

    #[test]
    fn moderate_activity_scales_with_activity_and_trend() {
        // 40 % of 200 = 80; multiplier min(2, 1 + 5/10) = 1.5 → 120.
        assert_eq!(split(200, summary(5, Trend::Stable, Some(1), true)).0, 120);
        // Increasing: 1.5 × 1.2 = 1.8 → 144, capped at 70 % = 140.
        assert_eq!(
            split(200, summary(5, Trend::Increasing, Some(1), true)).0,
            140
        );
        // Decreasing: 1.3 × 0.8 = 1.04 → 83.
        assert_eq!(
            split(200, summary(3, Trend::Decreasing, Some(1), true)).0,
            83
        );
    }

    #[test]
    fn zero_activity_strategies() {
        assert_eq!(
            split(200, summary(0, Trend::None, None, false)).0,
            60,
            "nothing ever: 30 %"
        );
        assert_eq!(
            split(200, summary(0, Trend::None, None, true)).0,
            5,
            "background only: minimum"
        );
        assert_eq!(
            split(200, summary(0, Trend::None, Some(31 * 60), true)),
            (0, 200, false)
        );
        assert_eq!(
            split(200, summary(0, Trend::None, Some(20 * 60), true)).0,
            5
        );
    }

    #[test]
    fn low_activity_gets_thirty_percent_but_at_least_the_minimum() {
        assert_eq!(
            split(200, summary(1, Trend::Increasing, Some(1), true)).0,
            60
        );
        assert_eq!(split(10, summary(2, Trend::Stable, Some(1), true)).0, 5);
        assert_eq!(
            split(3, summary(2, Trend::Stable, Some(1), true)),
            (3, 0, false)
        );
    }

    fn any_trend() -> impl Strategy<Value = Trend> {
        prop_oneof![
            Just(Trend::Increasing),
            Just(Trend::Stable),
            Just(Trend::Decreasing),
            Just(Trend::None)
        ]
    }

    proptest! {
        /// Capacities are whole requests that add up to the limit, whatever the input.
        #[test]
        fn split_is_whole_and_adds_up(
            limit in 1u32..=10_000,
            recent in 0u32..50,
            trend in any_trend(),
            last in proptest::option::of(0u64..10_000),
            bg in any::<bool>(),
            scaling in 0.1f64..5.0,
            min_reserved in 0u32..300,
        ) {
            let config = AdaptiveConfig { max_user_scaling: scaling, min_user_reserved: min_reserved, ..Default::default() };
            let c = calculate(limit, &summary(recent, trend, last, bg), NOW, &config);
            prop_assert_eq!(c.user_reserved + c.background_max, limit);
            prop_assert!(!c.reason.is_empty());
            if c.background_paused {
                prop_assert!(recent >= config.high_activity_threshold);
            }
        }
    }
}

//! The adaptive (priority-aware) decision: the sliding window of [`super::window`] for
//! the whole limit, plus the split of [`super::capacity`] between priorities.
//!
//! Rules, for a request at `now`:
//! - the split is recalculated from the shared activity when older than the
//!   recalculation interval, and kept in the state so every process uses the same one;
//! - no more than `limit` grants of both priorities in any window (as the plain window);
//! - background requests: not while paused, and at most `background_max` in the window,
//!   which keeps `user_reserved` slots free for users;
//! - user requests: any free slot (a person is waiting).
//!
//! Every granted user request counts as user activity.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::activity::ActivityLog;
use super::capacity::{self, ActivitySummary};
use super::decision::{cooldown_wait, lengthens_cooldown};
use super::window::{self, Outcome};
use crate::adaptive::{AdaptiveStatus, Priority};
use crate::clock::Timestamp;
use crate::config::{AdaptiveConfig, RateLimit};
use crate::rate_limit::Decision;

/// One recorded grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// When it was recorded.
    pub at: Timestamp,
    /// For whom.
    pub priority: Priority,
}

/// The stored state of one resource under adaptive limiting.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdaptiveState {
    /// Grants still in the window, oldest first, at most `limit`.
    pub grants: Vec<Grant>,
    /// User activity over the monitoring window.
    pub activity: ActivityLog,
    /// The newest user grant ever seen.
    pub last_user_at: Option<Timestamp>,
    /// The newest background grant ever seen.
    pub last_background_at: Option<Timestamp>,
    /// The split in force and when it was calculated.
    pub split: Option<AdaptiveStatus>,
    /// A fleet-wide cooldown.
    pub cooldown_until: Option<Timestamp>,
}

impl AdaptiveState {
    fn times(&self, priority: Option<Priority>) -> Vec<Timestamp> {
        self.grants
            .iter()
            .filter(|g| priority.is_none_or(|p| g.priority == p))
            .map(|g| g.at)
            .collect()
    }
}

/// The split in force at `now`: the stored one while fresh, else a new calculation.
/// The flag tells whether it was recalculated (and so must be stored).
pub fn current_split(
    state: &AdaptiveState,
    now: Timestamp,
    limit: RateLimit,
    config: &AdaptiveConfig,
) -> (AdaptiveStatus, bool) {
    if let Some(split) = &state.split {
        let age = now.saturating_duration_since(split.calculated_at);
        let from_future = split.calculated_at > now.saturating_add(config.recalculation_interval);
        let same_limit = split.user_reserved + split.background_max == limit.limit();
        if age < config.recalculation_interval && !from_future && same_limit {
            return (split.clone(), false);
        }
    }
    let summary = ActivitySummary {
        recent_user: state.activity.recent(now, config.monitoring_window),
        trend: state.activity.trend(now, config.monitoring_window),
        last_user_at: state.last_user_at,
        background_seen: state.last_background_at.is_some(),
    };
    (
        capacity::calculate(limit.limit(), &summary, now, config),
        true,
    )
}

/// What [`try_acquire`] would decide, with the split it used and whether the split was
/// recalculated. `remaining` counts free slots before this request, for this priority.
pub fn evaluate(
    state: &AdaptiveState,
    now: Timestamp,
    priority: Priority,
    limit: RateLimit,
    config: &AdaptiveConfig,
) -> (Decision, AdaptiveStatus, bool) {
    let (split, recalculated) = current_split(state, now, limit, config);
    let all = state.times(None);
    let at = window::effective_now(&all, now);
    let w = limit.window();
    let total = window::in_window(&all, at, w);
    let reset_at = window::reset_at(total, w, at);
    let max = limit.limit() as usize;
    let mut wait = window::wait_for_slot(total, max, w, now);
    let mut free = max.saturating_sub(total.len());

    if priority == Priority::Background {
        let background = state.times(Some(Priority::Background));
        let background = window::in_window(&background, at, w);
        let cap = split.background_max as usize;
        free = free.min(cap.saturating_sub(background.len()));
        let until_recalculation = split
            .calculated_at
            .saturating_add(config.recalculation_interval)
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        let background_wait = if split.background_paused || cap == 0 {
            until_recalculation
        } else {
            window::wait_for_slot(background, cap, w, now)
        };
        wait = wait.max(background_wait);
    }
    if let Some(cooling) = cooldown_wait(state.cooldown_until, now) {
        wait = wait.max(cooling);
        free = 0;
    }
    let decision = Decision::uncounted(free, limit, reset_at, wait);
    (decision, split, recalculated)
}

/// Checks the limit for `priority` and counts the request when it may go. The new state
/// is returned when anything changed: a grant, or a recalculated split.
pub fn try_acquire(
    state: &AdaptiveState,
    now: Timestamp,
    priority: Priority,
    limit: RateLimit,
    config: &AdaptiveConfig,
) -> (Outcome<AdaptiveState>, AdaptiveStatus) {
    let (decision, split, recalculated) = evaluate(state, now, priority, limit, config);
    if !decision.granted {
        let new_state = recalculated.then(|| AdaptiveState {
            split: Some(split.clone()),
            ..state.clone()
        });
        return (
            Outcome {
                decision,
                new_state,
            },
            split,
        );
    }
    let mut next = record(state, now, priority, limit, config);
    next.split = Some(split.clone());
    let decision = decision.counted(next.grants.last().map(|g| g.at));
    (
        Outcome {
            decision,
            new_state: Some(next),
        },
        split,
    )
}

/// Counts a request of `priority` unconditionally.
pub fn record(
    state: &AdaptiveState,
    now: Timestamp,
    priority: Priority,
    limit: RateLimit,
    config: &AdaptiveConfig,
) -> AdaptiveState {
    let all = state.times(None);
    let at = window::effective_now(&all, now);
    let start = window::in_window(&all, at, limit.window()).len();
    let mut grants: Vec<Grant> = state.grants[state.grants.len() - start..].to_vec();
    grants.push(Grant { at, priority });
    let keep = limit.limit() as usize;
    if grants.len() > keep {
        grants.drain(..grants.len() - keep);
    }
    let mut next = AdaptiveState {
        grants,
        ..state.clone()
    };
    match priority {
        Priority::User => {
            next.activity.add(at, config.monitoring_window);
            next.last_user_at = Some(at.max(state.last_user_at.unwrap_or(at)));
        }
        Priority::Background => {
            next.last_background_at = Some(at.max(state.last_background_at.unwrap_or(at)));
        }
    }
    next
}

/// Sets a cooldown until `until` unless a longer one is in force.
pub fn cooldown(state: &AdaptiveState, until: Timestamp) -> Option<AdaptiveState> {
    lengthens_cooldown(state.cooldown_until, until).then(|| AdaptiveState {
        cooldown_until: Some(until),
        ..state.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cfg() -> AdaptiveConfig {
        AdaptiveConfig {
            monitoring_window: Duration::from_secs(60),
            recalculation_interval: Duration::from_secs(1),
            sustained_inactivity_threshold: Duration::from_secs(120),
            ..Default::default()
        }
    }

    fn limit(n: u32) -> RateLimit {
        RateLimit::new(n, Duration::from_secs(10)).unwrap()
    }

    fn acquire(state: &mut AdaptiveState, now: u64, p: Priority, l: RateLimit) -> Decision {
        let (o, _) = try_acquire(state, Timestamp::from_millis(now), p, l, &cfg());
        if let Some(s) = o.new_state {
            *state = s;
        }
        o.decision
    }

    #[test]
    fn background_is_capped_so_users_keep_their_reserve() {
        // No activity yet: users reserve 30 % of 20 = 6, background may take 14.
        let l = limit(20);
        let mut s = AdaptiveState::default();
        let granted = (0..20)
            .filter(|i| acquire(&mut s, 1_000 + i, Priority::Background, l).granted)
            .count();
        assert_eq!(granted, 14);
        let denied = acquire(&mut s, 1_100, Priority::Background, l);
        assert!(!denied.granted && denied.wait > Duration::ZERO);
        assert_eq!(denied.remaining, 0);
        // Users still get every remaining slot.
        let users = (0..10)
            .filter(|i| acquire(&mut s, 1_200 + i, Priority::User, l).granted)
            .count();
        assert_eq!(users, 6);
    }

    #[test]
    fn user_activity_shrinks_background_after_recalculation() {
        let l = limit(100);
        let mut s = AdaptiveState::default();
        for i in 0..12 {
            assert!(acquire(&mut s, 10_000 + i * 10, Priority::User, l).granted);
        }
        // Split recalculated after the interval: high activity → users 90, background 10,
        // and the trend (all within the newest third) is increasing → background paused.
        let d = acquire(&mut s, 11_500, Priority::Background, l);
        assert!(!d.granted);
        let split = s.split.clone().unwrap();
        assert_eq!((split.user_reserved, split.background_max), (90, 10));
        assert!(split.background_paused);
        assert_eq!(split.recent_user_activity, 12);
    }

    #[test]
    fn denial_without_recalculation_changes_nothing() {
        let l = limit(1);
        let mut s = AdaptiveState::default();
        assert!(acquire(&mut s, 5_000, Priority::User, l).granted);
        let (o, _) = try_acquire(&s, Timestamp::from_millis(5_001), Priority::User, l, &cfg());
        assert!(!o.decision.granted);
        assert!(o.new_state.is_none());
    }

    #[test]
    fn cooldown_blocks_both_priorities() {
        let l = limit(10);
        let s = cooldown(&AdaptiveState::default(), Timestamp::from_millis(9_000)).unwrap();
        for p in [Priority::User, Priority::Background] {
            let (d, _, _) = evaluate(&s, Timestamp::from_millis(8_000), p, l, &cfg());
            assert!(!d.granted);
            assert!(d.wait >= Duration::from_millis(1_000));
        }
    }

    proptest! {
        /// Whatever the mix of priorities, the whole limit holds in every window, and
        /// background never exceeds the split's maximum at the time of its grant.
        #[test]
        fn total_never_exceeds_limit(
            n in 1u32..30,
            steps in proptest::collection::vec((0u64..700, any::<bool>()), 1..300),
        ) {
            let l = limit(n);
            let mut s = AdaptiveState::default();
            let mut now = 50_000u64;
            let mut times = Vec::new();
            for (gap, user) in steps {
                now += gap;
                let p = if user { Priority::User } else { Priority::Background };
                let (o, split) = try_acquire(&s, Timestamp::from_millis(now), p, l, &cfg());
                if o.decision.granted {
                    let next = o.new_state.unwrap();
                    times.push(o.decision.granted_at.unwrap().as_millis());
                    if p == Priority::Background {
                        let w = Timestamp::from_millis(now).saturating_sub(l.window());
                        let bg = next.grants.iter().filter(|g| g.priority == p && g.at > w).count();
                        prop_assert!(bg as u32 <= split.background_max);
                    }
                    s = next;
                } else if let Some(next) = o.new_state {
                    s = next;
                }
            }
            for (i, &start) in times.iter().enumerate() {
                let count = times[i..].iter().take_while(|&&t| t < start + 10_000).count();
                prop_assert!(count <= n as usize);
            }
        }
    }
}

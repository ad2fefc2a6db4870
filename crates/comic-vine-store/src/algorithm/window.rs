//! The exact sliding-window log: at most `limit` grants in any window-length interval.
//!
//! The state is the list of recent grant times (at most `limit` of them are ever
//! needed) and an optional cooldown. A grant is recorded at
//! `max(now, newest recorded grant)`, so recorded times never go backwards even when
//! hosts' clocks disagree; a new grant at time `t` is allowed only while fewer than
//! `limit` recorded grants lie in `(t - window, t]`. Together these make the guarantee
//! hold for the recorded times: no half-open interval of one window length ever holds
//! more than `limit` grants.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::decision::{cooldown_wait, lengthens_cooldown};
use crate::clock::Timestamp;
use crate::config::RateLimit;
use crate::rate_limit::Decision;

/// The stored state of one resource's window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowState {
    grants: Vec<Timestamp>,
    cooldown_until: Option<Timestamp>,
}

impl WindowState {
    /// An empty window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a state from stored parts (grant times in any order).
    pub fn from_parts(mut grants: Vec<Timestamp>, cooldown_until: Option<Timestamp>) -> Self {
        grants.sort_unstable();
        Self {
            grants,
            cooldown_until,
        }
    }

    /// Recorded grant times, oldest first.
    pub fn grants(&self) -> &[Timestamp] {
        &self.grants
    }

    /// The cooldown, if one was ever set (it may lie in the past).
    pub fn cooldown_until(&self) -> Option<Timestamp> {
        self.cooldown_until
    }

    /// The newest recorded grant.
    pub fn newest(&self) -> Option<Timestamp> {
        self.grants.last().copied()
    }
}

/// A decision together with the state to store when the decision changed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome<S> {
    /// The decision to return to the caller.
    pub decision: Decision,
    /// The new state, or `None` when nothing changed (no write needed).
    pub new_state: Option<S>,
}

impl<S> Outcome<S> {
    /// A decision that changes nothing: no state to store.
    pub fn unchanged(decision: Decision) -> Self {
        Self {
            decision,
            new_state: None,
        }
    }
}

/// The time a grant made now would be recorded at: never before the newest grant.
pub fn effective_now(grants: &[Timestamp], now: Timestamp) -> Timestamp {
    grants.last().map_or(now, |&newest| newest.max(now))
}

/// The suffix of sorted `grants` that lies in `(at - window, at]`.
pub fn in_window(grants: &[Timestamp], at: Timestamp, window: Duration) -> &[Timestamp] {
    let window_ms = crate::clock::duration_millis(window);
    let Some(start) = at.as_millis().checked_sub(window_ms) else {
        return grants;
    };
    &grants[grants.partition_point(|g| g.as_millis() <= start)..]
}

/// How long from `now` until fewer than `allowed` of the sorted in-window `grants`
/// remain in the window; zero if that is already so.
pub fn wait_for_slot(
    grants: &[Timestamp],
    allowed: usize,
    window: Duration,
    now: Timestamp,
) -> Duration {
    if grants.len() < allowed {
        return Duration::ZERO;
    }
    // The (len - allowed)-th oldest grant must leave: it does at `g + window`.
    let must_leave = grants[grants.len() - allowed];
    must_leave
        .saturating_add(window)
        .saturating_duration_since(now)
        .max(Duration::from_millis(1))
}

/// When the oldest in-window grant leaves the window (`at` when there is none).
pub fn reset_at(in_window: &[Timestamp], window: Duration, at: Timestamp) -> Timestamp {
    in_window.first().map_or(at, |g| g.saturating_add(window))
}

/// Checks the limit and, when a request may go, counts it.
///
/// ```
/// use std::time::Duration;
/// use comic_vine_store::algorithm::window::{try_acquire, WindowState};
/// use comic_vine_store::clock::Timestamp;
/// use comic_vine_store::config::RateLimit;
///
/// let limit = RateLimit::new(2, Duration::from_secs(10))?;
/// let t = Timestamp::from_secs(100);
/// let first = try_acquire(&WindowState::new(), t, limit);
/// let state = first.new_state.unwrap();
/// let second = try_acquire(&state, t, limit);
/// let third = try_acquire(second.new_state.as_ref().unwrap(), t, limit);
/// assert!(first.decision.granted && second.decision.granted);
/// assert!(!third.decision.granted);
/// assert_eq!(third.decision.wait, Duration::from_secs(10));
/// assert!(third.new_state.is_none(), "a denial writes nothing");
/// # Ok::<(), comic_vine_store::StoreError>(())
/// ```
pub fn try_acquire(state: &WindowState, now: Timestamp, limit: RateLimit) -> Outcome<WindowState> {
    let decision = evaluate(state, now, limit);
    if !decision.granted {
        return Outcome::unchanged(decision);
    }
    let at = effective_now(&state.grants, now);
    Outcome {
        decision: decision.counted(Some(at)),
        new_state: Some(push_grant(state, at, limit)),
    }
}

/// What [`try_acquire`] would decide now, without counting anything. `remaining`
/// counts the free slots before this request.
pub fn evaluate(state: &WindowState, now: Timestamp, limit: RateLimit) -> Decision {
    let at = effective_now(&state.grants, now);
    let current = in_window(&state.grants, at, limit.window());
    let max = limit.limit() as usize;
    let free = max.saturating_sub(current.len());
    let reset_at = reset_at(current, limit.window(), at);
    if let Some(wait) = cooldown_wait(state.cooldown_until, now) {
        return Decision::uncounted(0u32, limit, reset_at, wait);
    }
    let wait = wait_for_slot(current, max, limit.window(), now);
    Decision::uncounted(free, limit, reset_at, wait)
}

/// Counts a request unconditionally (the original's `record`), at
/// `max(now, newest grant)`.
pub fn record(state: &WindowState, now: Timestamp, limit: RateLimit) -> WindowState {
    push_grant(state, effective_now(&state.grants, now), limit)
}

/// Sets a cooldown until `until`, unless a longer one is already in force; `None` when
/// nothing changes.
pub fn cooldown(state: &WindowState, until: Timestamp) -> Option<WindowState> {
    lengthens_cooldown(state.cooldown_until, until).then(|| WindowState {
        grants: state.grants.clone(),
        cooldown_until: Some(until),
    })
}

/// Appends a grant at `at` (not before the newest) and keeps only what future decisions
/// need: grants still in the window, at most `limit` of them.
fn push_grant(state: &WindowState, at: Timestamp, limit: RateLimit) -> WindowState {
    let mut grants: Vec<Timestamp> = in_window(&state.grants, at, limit.window()).to_vec();
    grants.push(at);
    let keep = limit.limit() as usize;
    if grants.len() > keep {
        grants.drain(..grants.len() - keep);
    }
    WindowState {
        grants,
        cooldown_until: state.cooldown_until,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn limit(n: u32, ms: u64) -> RateLimit {
        RateLimit::new(n, Duration::from_millis(ms)).unwrap()
    }

    fn ts(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn grants_up_to_the_limit_then_waits_for_the_oldest() {
        let l = limit(3, 1_000);
        let mut state = WindowState::new();
        for t in [100, 200, 300] {
            let o = try_acquire(&state, ts(t), l);
            assert!(o.decision.granted);
            assert_eq!(o.decision.granted_at, Some(ts(t)));
            state = o.new_state.unwrap();
        }
        let denied = try_acquire(&state, ts(400), l);
        assert!(!denied.decision.granted);
        assert_eq!(denied.decision.remaining, 0);
        assert_eq!(denied.decision.wait, Duration::from_millis(700));
        assert_eq!(denied.decision.reset_at, ts(1_100));
        // At exactly oldest + window the oldest has left (half-open window).
        let later = try_acquire(&state, ts(1_100), l);
        assert!(later.decision.granted);
        assert_eq!(
            later.new_state.unwrap().grants(),
            &[ts(200), ts(300), ts(1_100)]
        );
    }

    #[test]
    fn remaining_counts_down() {
        let l = limit(2, 1_000);
        let a = try_acquire(&WindowState::new(), ts(0), l);
        assert_eq!(a.decision.remaining, 1);
        let b = try_acquire(a.new_state.as_ref().unwrap(), ts(1), l);
        assert_eq!(b.decision.remaining, 0);
        assert_eq!(evaluate(&WindowState::new(), ts(5), l).remaining, 2);
    }

    #[test]
    fn a_clock_behind_records_at_the_newest_grant() {
        let l = limit(2, 1_000);
        let state = WindowState::from_parts(vec![ts(5_000)], None);
        let o = try_acquire(&state, ts(4_500), l);
        assert_eq!(o.decision.granted_at, Some(ts(5_000)));
        let full = o.new_state.unwrap();
        // The lagging host is told to wait until the oldest grant leaves, in its own time.
        let denied = try_acquire(&full, ts(4_500), l);
        assert_eq!(denied.decision.wait, Duration::from_millis(1_500));
    }

    #[test]
    fn cooldown_denies_until_it_ends_and_never_shortens() {
        let l = limit(10, 1_000);
        let state = cooldown(&WindowState::new(), ts(2_000)).unwrap();
        assert!(cooldown(&state, ts(1_500)).is_none());
        let d = try_acquire(&state, ts(1_000), l);
        assert!(!d.decision.granted);
        assert_eq!(d.decision.wait, Duration::from_millis(1_000));
        assert!(try_acquire(&state, ts(2_000), l).decision.granted);
    }

    #[test]
    fn record_counts_over_the_limit_but_keeps_state_bounded() {
        let l = limit(2, 1_000);
        let mut state = WindowState::new();
        for t in 0..5 {
            state = record(&state, ts(t), l);
        }
        assert_eq!(state.grants().len(), 2);
        assert!(!evaluate(&state, ts(10), l).granted);
    }

    #[test]
    fn grants_near_the_epoch_are_counted() {
        let l = limit(1, 1_000);
        let s = try_acquire(&WindowState::new(), ts(0), l)
            .new_state
            .unwrap();
        assert!(!try_acquire(&s, ts(10), l).decision.granted);
    }

    proptest! {
        /// Whatever the arrival times (including a clock that jumps back), no half-open
        /// window-length interval of recorded grants holds more than the limit.
        #[test]
        fn no_window_exceeds_the_limit(
            n in 1u32..8,
            window in 1u64..500,
            steps in proptest::collection::vec((0u64..300, any::<bool>()), 1..200),
        ) {
            let l = limit(n, window);
            let mut state = WindowState::new();
            let mut now = 1_000u64;
            let mut recorded = Vec::new();
            for (delta, backwards) in steps {
                now = if backwards { now.saturating_sub(delta / 4) } else { now + delta };
                let o = try_acquire(&state, ts(now), l);
                prop_assert_eq!(o.decision.granted, o.new_state.is_some());
                if let Some(s) = o.new_state {
                    recorded.push(o.decision.granted_at.unwrap().as_millis());
                    state = s;
                } else {
                    prop_assert!(o.decision.wait > Duration::ZERO);
                }
            }
            prop_assert!(recorded.windows(2).all(|w| w[0] <= w[1]));
            for (i, &start) in recorded.iter().enumerate() {
                let count = recorded[i..].iter().take_while(|&&t| t < start + window).count();
                prop_assert!(count <= n as usize, "{count} grants in [{start}, {})", start + window);
            }
        }

        /// Waiting the returned time is enough: the next attempt after it is granted.
        #[test]
        fn waiting_the_wait_time_suffices(
            n in 1u32..6,
            window in 1u64..1_000,
            arrivals in proptest::collection::vec(0u64..50, 1..40),
        ) {
            let l = limit(n, window);
            let mut state = WindowState::new();
            let mut now = 0u64;
            for gap in arrivals {
                now += gap;
                let o = try_acquire(&state, ts(now), l);
                match o.new_state {
                    Some(s) => state = s,
                    None => {
                        let retry = now + o.decision.wait.as_millis() as u64;
                        prop_assert!(evaluate(&state, ts(retry), l).granted);
                        prop_assert!(!evaluate(&state, ts(retry - 1), l).granted);
                    }
                }
            }
        }
    }
}

//! The two forms of a rate-limit window and the automatic choice between them.
//!
//! A resource whose limit's packed log fits [`LOG_BYTES_BUDGET`] bytes in the worst
//! case keeps the exact log of [`super::window`] (no utilization given up); a larger
//! limit keeps the bounded counts of [`super::bucketed_window`] (at most 65 counts,
//! a few hundred bytes at any limit). The choice depends only on the limit in force
//! ([`uses_log`]): about 220 per hour, 330 per minute. When the limit changes form,
//! the stored state is converted conservatively on its next use: log → buckets puts
//! each grant in its bucket (exact for the bucketed rule); buckets → log places each
//! bucket's grants at its last millisecond (or the newest grant, if earlier), so no
//! grant is ever counted for less long than it should be.

use std::borrow::Cow;

use crate::clock::{Timestamp, duration_millis};
use crate::config::RateLimit;
use crate::rate_limit::Decision;

use super::bucketed_window::{self as buckets, BucketState, bucket_width};
use super::window::{self as log, Outcome, WindowState};

/// The largest encoded log (bytes) a resource may need before it switches to buckets:
/// with its key and attributes the item stays within one 1 KB DynamoDB write unit.
pub const LOG_BYTES_BUDGET: usize = 700;

/// A stored window in either form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowForm {
    /// The exact log of grant times.
    Log(WindowState),
    /// Grant counts per bucket.
    Buckets(BucketState),
}

impl Default for WindowForm {
    fn default() -> Self {
        Self::Log(WindowState::new())
    }
}

fn varint_len(v: u64) -> usize {
    (64 - v.leading_zeros() as usize).div_ceil(7).max(1)
}

/// An upper bound of the encoded size of a full log under `limit`: `limit` grants
/// within one window (their gaps sum to less than the window), plus the format byte,
/// the length prefix, the count, the first time and the cooldown. A gap needs at
/// least `k` bytes only if it is at least `2^(7(k−1))`, so at most `sum / 2^(7(k−1))`
/// gaps need a `k`th byte.
pub fn log_bytes_bound(limit: RateLimit) -> usize {
    let n = u64::from(limit.limit());
    let gaps = n.saturating_sub(1);
    let sum = duration_millis(limit.window())
        .saturating_sub(1)
        .saturating_mul(2);
    let extra: u64 = (1..10).map(|k| gaps.min(sum >> (7 * k))).sum();
    let fixed = 1 + 3 + varint_len(n) + 10 + 10;
    usize::try_from(gaps + extra).unwrap_or(usize::MAX) + fixed
}

/// Whether a resource under `limit` keeps the exact log (else buckets).
pub fn uses_log(limit: RateLimit) -> bool {
    log_bytes_bound(limit) <= LOG_BYTES_BUDGET
}

impl WindowForm {
    /// An empty window in the form `limit` calls for.
    pub fn empty(limit: RateLimit) -> Self {
        Self::Log(WindowState::new()).to_form(limit).into_owned()
    }

    /// The newest recorded grant.
    pub fn newest(&self) -> Option<Timestamp> {
        match self {
            Self::Log(s) => s.newest(),
            Self::Buckets(s) => s.newest(),
        }
    }

    /// The cooldown, if one was ever set (it may lie in the past).
    pub fn cooldown_until(&self) -> Option<Timestamp> {
        match self {
            Self::Log(s) => s.cooldown_until(),
            Self::Buckets(s) => s.cooldown_until(),
        }
    }

    /// This window in the form `limit` calls for, converted conservatively if needed.
    pub fn to_form(&self, limit: RateLimit) -> Cow<'_, Self> {
        match (self, uses_log(limit)) {
            (Self::Log(_), true) => Cow::Borrowed(self),
            (Self::Buckets(b), true) => Cow::Owned(Self::Log(to_log(b, limit))),
            (Self::Log(l), false) => Cow::Owned(Self::Buckets(to_buckets(l, limit))),
            (Self::Buckets(b), false) if b.width() == bucket_width(limit.window()) => {
                Cow::Borrowed(self)
            }
            (Self::Buckets(b), false) => {
                Cow::Owned(Self::Buckets(b.with_width(bucket_width(limit.window()))))
            }
        }
    }
}

/// Each grant of the log in its bucket.
fn to_buckets(state: &WindowState, limit: RateLimit) -> BucketState {
    let width = bucket_width(limit.window());
    let first = state.grants().first().map_or(0, |g| g.as_millis() / width);
    let mut counts: Vec<u32> = Vec::new();
    for g in state.grants() {
        let offset = usize::try_from(g.as_millis() / width - first).unwrap_or(usize::MAX);
        if offset >= counts.len() {
            counts.resize(offset + 1, 0);
        }
        counts[offset] = counts[offset].saturating_add(1);
    }
    BucketState::from_parts(width, first, counts, state.newest(), state.cooldown_until())
}

/// Each bucket's grants at the latest time they can have, keeping the newest `limit`
/// that are still within a window of the newest grant.
fn to_log(state: &BucketState, limit: RateLimit) -> WindowState {
    let keep = limit.limit() as usize;
    let mut times: Vec<Timestamp> = Vec::new();
    for (k, count) in state.buckets() {
        let at = state.latest_time_in(k);
        times.extend(std::iter::repeat_n(at, (count as usize).min(keep)));
        if times.len() > keep {
            times.drain(..times.len() - keep);
        }
    }
    let times = match state.newest() {
        Some(newest) => log::in_window(&times, newest, limit.window()).to_vec(),
        None => times,
    };
    WindowState::from_parts(times, state.cooldown_until())
}

/// What [`try_acquire`] would decide now, without counting anything.
pub fn evaluate(state: &WindowForm, now: Timestamp, limit: RateLimit) -> Decision {
    match &*state.to_form(limit) {
        WindowForm::Log(s) => log::evaluate(s, now, limit),
        WindowForm::Buckets(s) => buckets::evaluate(s, now, limit),
    }
}

/// Checks the limit and, when a request may go, counts it.
pub fn try_acquire(state: &WindowForm, now: Timestamp, limit: RateLimit) -> Outcome<WindowForm> {
    match &*state.to_form(limit) {
        WindowForm::Log(s) => wrap(log::try_acquire(s, now, limit), WindowForm::Log),
        WindowForm::Buckets(s) => wrap(buckets::try_acquire(s, now, limit), WindowForm::Buckets),
    }
}

fn wrap<S>(o: Outcome<S>, f: impl FnOnce(S) -> WindowForm) -> Outcome<WindowForm> {
    Outcome {
        decision: o.decision,
        new_state: o.new_state.map(f),
    }
}

/// Counts a request unconditionally, at `max(now, newest grant)`.
pub fn record(state: &WindowForm, now: Timestamp, limit: RateLimit) -> WindowForm {
    match &*state.to_form(limit) {
        WindowForm::Log(s) => WindowForm::Log(log::record(s, now, limit)),
        WindowForm::Buckets(s) => WindowForm::Buckets(buckets::record(s, now, limit)),
    }
}

/// Sets a cooldown until `until` unless a longer one is in force (form unchanged).
pub fn cooldown(state: &WindowForm, until: Timestamp) -> Option<WindowForm> {
    match state {
        WindowForm::Log(s) => log::cooldown(s, until).map(WindowForm::Log),
        WindowForm::Buckets(s) => buckets::cooldown(s, until).map(WindowForm::Buckets),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;
    use crate::cell::encoding::encode_window_form;

    fn limit(n: u32, secs: u64) -> RateLimit {
        RateLimit::new(n, Duration::from_secs(secs)).unwrap()
    }

    #[test]
    fn the_threshold_keeps_comic_vine_on_the_log() {
        assert!(uses_log(RateLimit::comic_vine()));
        assert!(uses_log(limit(220, 3600)));
        assert!(!uses_log(limit(240, 3600)));
        assert!(!uses_log(limit(1_000, 3600)));
        assert!(uses_log(limit(330, 60)));
        assert!(!uses_log(limit(100_000, 3600)));
    }

    proptest! {
        /// The bound is sound: any full log a resource on the log form can hold, with
        /// times near the far future and a cooldown, encodes within the budget.
        #[test]
        fn a_log_form_never_outgrows_the_budget(
            n in 1u32..400,
            window in 1u64..400_000_000,
            seed in proptest::collection::vec(0u64..1_000, 400),
        ) {
            let l = RateLimit::new(n, Duration::from_millis(window)).unwrap();
            prop_assume!(uses_log(l));
            // n grants within one window: gaps proportional to the seed, summing < W.
            let weights: Vec<u64> = seed[..n as usize - 1].to_vec();
            let total: u64 = weights.iter().sum::<u64>().max(1);
            let mut at = 1u64 << 45;
            let mut grants = vec![Timestamp::from_millis(at)];
            for w in weights {
                at += (u128::from(window - 1) * u128::from(w) / u128::from(total)) as u64;
                grants.push(Timestamp::from_millis(at));
            }
            let state = WindowForm::Log(WindowState::from_parts(
                grants,
                Some(Timestamp::from_millis(1 << 46)),
            ));
            let bytes = encode_window_form(&state).len();
            prop_assert!(bytes <= LOG_BYTES_BUDGET, "{} bytes for {:?}", bytes, l);
            prop_assert!(bytes <= log_bytes_bound(l));
        }

        /// Across changes of limit (and so of form) each grant finds fewer grants than
        /// the limit in force in the window before it, by an exact replay.
        #[test]
        fn every_grant_respects_the_limit_in_force_across_form_changes(
            window in 1u64..20_000,
            steps in proptest::collection::vec((0u64..2_000, 0usize..4), 1..120),
        ) {
            let limits = [3u32, 40, 2_000, 9_000]
                .map(|n| RateLimit::new(n, Duration::from_millis(window)).unwrap());
            let mut state = WindowForm::default();
            let mut now = 100_000u64;
            let mut recorded: Vec<Timestamp> = Vec::new();
            for (delta, which) in steps {
                now += delta;
                let l = limits[which];
                let burst = if uses_log(l) { 1 } else { 100 };
                for _ in 0..burst {
                    let o = try_acquire(&state, Timestamp::from_millis(now), l);
                    let Some(next) = o.new_state else { break };
                    let at = o.decision.granted_at.unwrap();
                    let before = log::in_window(&recorded, at, l.window()).len();
                    prop_assert!(before < l.limit() as usize, "{} before a grant under {:?}", before, l);
                    recorded.push(at);
                    state = next;
                }
            }
        }
    }

    #[test]
    fn a_log_converts_to_buckets_and_back_conservatively() {
        let small = limit(3, 64);
        let big = limit(5_000, 64);
        let mut form = WindowForm::empty(small);
        for t in [1_000, 1_500, 2_100] {
            form = try_acquire(&form, Timestamp::from_millis(t), small)
                .new_state
                .unwrap();
        }
        let WindowForm::Buckets(b) = &*form.to_form(big) else {
            panic!("a large limit uses buckets");
        };
        assert_eq!(
            b.buckets().collect::<Vec<_>>(),
            vec![(1, 2), (2, 1)],
            "1 s buckets"
        );
        let wide = form.to_form(big).into_owned();
        let WindowForm::Log(back) = &*wide.to_form(small) else {
            panic!("a small limit uses the log");
        };
        let ms: Vec<u64> = back.grants().iter().map(|g| g.as_millis()).collect();
        assert_eq!(ms, vec![1_999, 1_999, 2_100], "never earlier than recorded");
    }
}

//! A bounded, conservative sliding window for large limits: grant counts per bucket.
//!
//! The window of `W` ms is cut into buckets of `b = ceil(W / 64)` ms (bucket `k` holds
//! the grants recorded in `[k·b, (k+1)·b)`), so the state holds at most 65 counts
//! whatever the limit. A grant at `at` is allowed only while the buckets overlapping
//! `(at − W, at]` hold fewer than `limit` grants, a bucket that overlaps the window's
//! start counting as wholly inside it. Grants are recorded at `max(now, newest grant)`
//! as in the exact log, so recorded times never go backwards.
//!
//! - **Never over the limit.** Every recorded grant in `(at − W, at]` lies in a counted
//!   bucket, so the counted total is at least the exact one: no half-open interval of
//!   `W` ms ever holds more than `limit` recorded grants (the log's proof, with "count"
//!   replaced by an upper bound of it).
//! - **Utilization.** The counted buckets span at most `W + b − 1` ms ending at `at`, so
//!   a denial at `at` means at least `limit` grants in that span: a caller that asks
//!   until denied at every millisecond gets at least `limit` grants in every interval of
//!   `W + b − 1 < W · (1 + 1/64)` ms, i.e. at least `limit · 64/65` per window on
//!   average (it gives up at most 1/65 of the exact log's throughput).
//! - **Waits** are exact for this rule: the first instant a bucket leaves and frees a
//!   slot, at most `b − 1` ms after the exact log would.

use std::time::Duration;

use crate::clock::{Timestamp, duration_millis};
use crate::config::RateLimit;
use crate::rate_limit::Decision;

use super::decision::{cooldown_wait, lengthens_cooldown};
use super::window::Outcome;

/// Buckets per window.
pub const BUCKETS: u64 = 64;

/// The bucket width, in ms, for `window`: `ceil(window / 64)`, at least 1 ms.
pub fn bucket_width(window: Duration) -> u64 {
    duration_millis(window).div_ceil(BUCKETS).max(1)
}

/// The stored state of one resource's bucketed window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BucketState {
    width: u64,
    first: u64,
    counts: Vec<u32>,
    newest: Option<Timestamp>,
    cooldown_until: Option<Timestamp>,
}

impl BucketState {
    /// An empty window with buckets of `width` ms.
    pub fn new(width: u64) -> Self {
        Self {
            width: width.max(1),
            ..Self::default()
        }
    }

    /// Rebuilds a state from stored parts: the bucket width, the index of the first
    /// bucket, the counts from it on, the newest grant and the cooldown.
    pub fn from_parts(
        width: u64,
        first: u64,
        counts: Vec<u32>,
        newest: Option<Timestamp>,
        cooldown_until: Option<Timestamp>,
    ) -> Self {
        Self {
            width: width.max(1),
            first,
            counts,
            newest,
            cooldown_until,
        }
    }

    /// The bucket width in ms.
    pub fn width(&self) -> u64 {
        self.width
    }

    /// The index of the first stored bucket.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// The counts of the stored buckets, from [`first`](Self::first) on.
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// The newest recorded grant.
    pub fn newest(&self) -> Option<Timestamp> {
        self.newest
    }

    /// The cooldown, if one was ever set (it may lie in the past).
    pub fn cooldown_until(&self) -> Option<Timestamp> {
        self.cooldown_until
    }

    /// Non-empty buckets as (index, count), oldest first.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        (self.first..)
            .zip(self.counts.iter().copied())
            .filter(|&(_, c)| c > 0)
    }

    /// The same grants in buckets of `width` ms. Each bucket's grants move to its last
    /// millisecond, or to the newest grant if that is earlier: never earlier than they
    /// were, never past the newest, so every later decision still counts them.
    pub fn with_width(&self, width: u64) -> Self {
        let width = width.max(1);
        if width == self.width {
            return self.clone();
        }
        let mut out = Self {
            width,
            newest: self.newest,
            cooldown_until: self.cooldown_until,
            ..Self::default()
        };
        for (k, count) in self.buckets() {
            out.add(self.latest_time_in(k), count);
        }
        out
    }

    /// The latest time a grant in bucket `k` can have been recorded at.
    pub fn latest_time_in(&self, k: u64) -> Timestamp {
        let end = Timestamp::from_millis(
            k.saturating_add(1)
                .saturating_mul(self.width)
                .saturating_sub(1),
        );
        self.newest.map_or(end, |n| end.min(n))
    }

    /// Adds `count` grants recorded at `at` (not before any stored bucket).
    fn add(&mut self, at: Timestamp, count: u32) {
        let k = at.as_millis() / self.width;
        if self.counts.is_empty() {
            self.first = k;
        }
        let offset = usize::try_from(k.saturating_sub(self.first)).unwrap_or(usize::MAX);
        if offset >= self.counts.len() {
            self.counts.resize(offset + 1, 0);
        }
        let slot = &mut self.counts[offset];
        *slot = slot.saturating_add(count);
    }

    /// Drops the buckets no decision at `at` or later counts.
    fn drop_before(&mut self, at: Timestamp, window: Duration) {
        let k_min = first_counted(at, window, self.width);
        let drop = usize::try_from(k_min.saturating_sub(self.first))
            .unwrap_or(usize::MAX)
            .min(self.counts.len());
        self.counts.drain(..drop);
        self.first = self.first.max(k_min);
        if self.counts.is_empty() {
            self.first = 0;
        }
    }

    /// Counted buckets at `at`: (index, count), oldest first.
    fn counted(&self, at: Timestamp, window: Duration) -> impl Iterator<Item = (u64, u32)> + '_ {
        let k_min = first_counted(at, window, self.width);
        self.buckets().filter(move |&(k, _)| k >= k_min)
    }
}

/// The first bucket a decision at `at` counts: the one holding `at − W + 1`.
fn first_counted(at: Timestamp, window: Duration, width: u64) -> u64 {
    (at.as_millis() + 1).saturating_sub(duration_millis(window)) / width
}

/// The earliest decision time at which bucket `k` is no longer counted.
fn leaves_at(k: u64, window: Duration, width: u64) -> Timestamp {
    Timestamp::from_millis(
        k.saturating_add(1)
            .saturating_mul(width)
            .saturating_add(duration_millis(window))
            .saturating_sub(1),
    )
}

/// The time a grant made now would be recorded at: never before the newest grant.
fn effective_now(state: &BucketState, now: Timestamp) -> Timestamp {
    state.newest.map_or(now, |n| n.max(now))
}

/// What [`try_acquire`] would decide now, without counting anything. `remaining`
/// counts the free slots before this request.
pub fn evaluate(state: &BucketState, now: Timestamp, limit: RateLimit) -> Decision {
    let state = state.with_width(bucket_width(limit.window()));
    let (w, width) = (limit.window(), state.width);
    let at = effective_now(&state, now);
    let counted: Vec<(u64, u32)> = state.counted(at, w).collect();
    let total: u64 = counted.iter().map(|&(_, c)| u64::from(c)).sum();
    let max = u64::from(limit.limit());
    let reset_at = counted.first().map_or(at, |&(k, _)| leaves_at(k, w, width));
    let mut wait = Duration::ZERO;
    if total >= max {
        // Drop the oldest buckets until fewer than `limit` grants remain counted.
        let mut left = total;
        for &(k, c) in &counted {
            left -= u64::from(c);
            if left < max {
                wait = leaves_at(k, w, width)
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(1));
                break;
            }
        }
    }
    let mut free = max.saturating_sub(total);
    if let Some(cooling) = cooldown_wait(state.cooldown_until, now) {
        wait = wait.max(cooling);
        free = 0;
    }
    Decision::uncounted(free, limit, reset_at, wait)
}

/// Checks the limit and, when a request may go, counts it.
pub fn try_acquire(state: &BucketState, now: Timestamp, limit: RateLimit) -> Outcome<BucketState> {
    let decision = evaluate(state, now, limit);
    if !decision.granted {
        return Outcome::unchanged(decision);
    }
    Outcome {
        decision: decision.counted(Some(effective_now(state, now))),
        new_state: Some(record(state, now, limit)),
    }
}

/// Counts a request unconditionally, at `max(now, newest grant)`.
pub fn record(state: &BucketState, now: Timestamp, limit: RateLimit) -> BucketState {
    let mut next = state.with_width(bucket_width(limit.window()));
    let at = effective_now(&next, now);
    next.drop_before(at, limit.window());
    next.add(at, 1);
    next.newest = Some(at);
    next
}

/// Sets a cooldown until `until`, unless a longer one is already in force; `None` when
/// nothing changes.
pub fn cooldown(state: &BucketState, until: Timestamp) -> Option<BucketState> {
    lengthens_cooldown(state.cooldown_until, until).then(|| BucketState {
        cooldown_until: Some(until),
        ..state.clone()
    })
}

#[cfg(test)]
mod tests;

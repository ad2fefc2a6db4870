//! Recent user activity, counted in a fixed number of time buckets.
//!
//! The monitoring window is split into [`BUCKETS`] buckets, so the state stays small
//! (it is shared through storage) however many requests arrive: a count per bucket,
//! at most [`BUCKETS`] of them. Counts are exact per bucket; the window's edge moves
//! in bucket steps (1/30 of the monitoring window, 30 s by default).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::adaptive::Trend;
use crate::clock::{Timestamp, duration_millis};

/// Buckets per monitoring window (a multiple of 3, for the trend's thirds).
pub const BUCKETS: u64 = 30;

/// User request counts per bucket of the monitoring window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityLog {
    /// `(bucket index, count)`, oldest first; the index is `time / bucket length`.
    buckets: Vec<(u64, u32)>,
}

impl ActivityLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a log from stored `(bucket index, count)` pairs.
    pub fn from_buckets(mut buckets: Vec<(u64, u32)>) -> Self {
        buckets.sort_unstable_by_key(|&(i, _)| i);
        buckets.dedup_by(|b, a| {
            if a.0 == b.0 {
                a.1 = a.1.saturating_add(b.1);
                true
            } else {
                false
            }
        });
        Self { buckets }
    }

    /// The stored `(bucket index, count)` pairs, oldest first.
    pub fn buckets(&self) -> &[(u64, u32)] {
        &self.buckets
    }

    /// Counts one request at `at` and drops buckets older than the monitoring window.
    pub fn add(&mut self, at: Timestamp, monitoring_window: Duration) {
        let len = bucket_len(monitoring_window);
        let index = at.as_millis() / len;
        match self.buckets.iter_mut().find(|(i, _)| *i == index) {
            Some((_, count)) => *count = count.saturating_add(1),
            None => {
                let pos = self.buckets.partition_point(|&(i, _)| i < index);
                self.buckets.insert(pos, (index, 1));
            }
        }
        let newest = self.buckets.last().map_or(index, |&(i, _)| i);
        let oldest_kept = newest.saturating_sub(BUCKETS - 1);
        self.buckets.retain(|&(i, _)| i >= oldest_kept);
    }

    /// Requests in the `count` buckets ending with the one holding `now`, skipping the
    /// newest `skip` buckets.
    fn sum(&self, now: Timestamp, len: u64, skip: u64, count: u64) -> u32 {
        let current = now.as_millis() / len;
        let Some(last) = current.checked_sub(skip) else {
            return 0;
        };
        let first = (last + 1).saturating_sub(count);
        self.buckets
            .iter()
            .filter(|&&(i, _)| i >= first && i <= last)
            .fold(0u32, |acc, &(_, c)| acc.saturating_add(c))
    }

    /// User requests in the monitoring window ending at `now`.
    pub fn recent(&self, now: Timestamp, monitoring_window: Duration) -> u32 {
        self.sum(now, bucket_len(monitoring_window), 0, BUCKETS)
    }

    /// The newest third of the monitoring window compared with the third before it.
    pub fn trend(&self, now: Timestamp, monitoring_window: Duration) -> Trend {
        let len = bucket_len(monitoring_window);
        let third = BUCKETS / 3;
        let recent = f64::from(self.sum(now, len, 0, third));
        let previous = f64::from(self.sum(now, len, third, third));
        if recent == 0.0 && previous == 0.0 {
            Trend::None
        } else if recent > previous * 1.5 {
            Trend::Increasing
        } else if recent < previous * 0.5 {
            Trend::Decreasing
        } else {
            Trend::Stable
        }
    }
}

/// Length of one bucket in milliseconds (at least 1).
pub fn bucket_len(monitoring_window: Duration) -> u64 {
    (duration_millis(monitoring_window) / BUCKETS).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(900);

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_secs(secs)
    }

    #[test]
    fn counts_recent_requests_and_forgets_old_ones() {
        // Buckets are 30 s long; 99_990 s is a bucket boundary.
        let base = 99_990;
        let mut log = ActivityLog::new();
        for s in [0, 10, 20, 40] {
            log.add(at(base + s), WINDOW);
        }
        assert_eq!(log.recent(at(base + 40), WINDOW), 4);
        // 900 s later the first bucket has left the window, the second has not.
        assert_eq!(log.recent(at(base + 900), WINDOW), 1);
        assert_eq!(log.recent(at(base + 2_000), WINDOW), 0);
        log.add(at(base + 5_000), WINDOW);
        assert_eq!(log.buckets().len(), 1, "old buckets are dropped on add");
    }

    #[test]
    fn trend_compares_thirds() {
        let base = 1_000_000;
        let mut log = ActivityLog::new();
        assert_eq!(log.trend(at(base), WINDOW), Trend::None);
        // Previous third (300..600 s ago): 2 requests; newest third: 4.
        for s in [base - 400, base - 350] {
            log.add(at(s), WINDOW);
        }
        assert_eq!(log.trend(at(base), WINDOW), Trend::Decreasing);
        for s in [base - 100, base - 90] {
            log.add(at(s), WINDOW);
        }
        assert_eq!(log.trend(at(base), WINDOW), Trend::Stable);
        for s in [base - 80, base - 70] {
            log.add(at(s), WINDOW);
        }
        assert_eq!(log.trend(at(base), WINDOW), Trend::Increasing);
    }

    #[test]
    fn stored_buckets_are_normalised() {
        let log = ActivityLog::from_buckets(vec![(5, 1), (3, 2), (5, 4)]);
        assert_eq!(log.buckets(), &[(3, 2), (5, 5)]);
    }
}

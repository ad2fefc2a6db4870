//! The grant history the server samples from `status()` when the store keeps none: a
//! ring buffer of (time, used) per row.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use comic_vine_store::{RateLimitStatus, Timestamp};

use crate::source::{DashboardSource, ResourceId, Sample};

/// Ring buffers of samples, one per row, each holding at most `capacity` samples.
#[derive(Debug)]
pub(crate) struct History {
    capacity: usize,
    rings: Mutex<HashMap<ResourceId, VecDeque<Sample>>>,
}

impl History {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(2),
            rings: Mutex::new(HashMap::new()),
        }
    }

    /// Adds a sample to `id`'s ring, dropping the oldest one when it is full.
    pub(crate) fn push(&self, id: &ResourceId, sample: Sample) {
        let mut rings = self.rings.lock().unwrap_or_else(|e| e.into_inner());
        let ring = rings.entry(id.clone()).or_default();
        if ring.back().is_some_and(|last| last.at > sample.at) {
            return; // a sample older than the newest one: keep the ring ordered
        }
        if ring.len() == self.capacity {
            ring.pop_front();
        }
        ring.push_back(sample);
    }

    /// `id`'s samples, oldest first.
    pub(crate) fn samples(&self, id: &ResourceId) -> Vec<Sample> {
        let rings = self.rings.lock().unwrap_or_else(|e| e.into_inner());
        rings
            .get(id)
            .map(|r| r.iter().copied().collect())
            .unwrap_or_default()
    }
}

/// The sample a status gives at `at`.
pub(crate) fn sample_of(status: &RateLimitStatus, at: Timestamp) -> Sample {
    Sample {
        at,
        used: status.limit.saturating_sub(status.remaining),
    }
}

/// Samples every row of `source` into `history` every `interval`, until dropped.
pub(crate) fn spawn_sampler(
    source: Arc<dyn DashboardSource>,
    history: Arc<History>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticks.tick().await;
            for id in source.resources() {
                match source.rate_limit_status(&id).await {
                    Ok(status) => history.push(&id, sample_of(&status, now())),
                    Err(e) => {
                        tracing::debug!(resource = %id.resource, error = %e, "sampling failed")
                    }
                }
            }
        }
    })
}

/// The wall clock as a [`Timestamp`].
pub(crate) fn now() -> Timestamp {
    use comic_vine_store::Clock;
    comic_vine_store::SystemClock.now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_newest_samples_in_order() {
        let h = History::new(3);
        let id = ResourceId::plain("issues");
        for t in 1..=5u64 {
            h.push(
                &id,
                Sample {
                    at: Timestamp::from_millis(t),
                    used: t as u32,
                },
            );
        }
        h.push(
            &id,
            Sample {
                at: Timestamp::from_millis(2),
                used: 9,
            },
        );
        let used: Vec<u32> = h.samples(&id).iter().map(|s| s.used).collect();
        assert_eq!(used, vec![3, 4, 5]);
        assert!(h.samples(&ResourceId::adaptive("issues")).is_empty());
    }

    proptest::proptest! {
        /// Whatever the pushes, a ring holds at most its capacity, in time order, and
        /// ends with the newest sample accepted.
        #[test]
        fn ring_is_bounded_and_ordered(
            capacity in 2usize..20,
            times in proptest::collection::vec(0u64..1000, 0..100),
        ) {
            let h = History::new(capacity);
            let id = ResourceId::plain("r");
            let mut newest = None;
            for (i, t) in times.iter().enumerate() {
                let sample = Sample { at: Timestamp::from_millis(*t), used: i as u32 };
                if newest.is_none_or(|n: Sample| n.at <= sample.at) {
                    newest = Some(sample);
                }
                h.push(&id, sample);
            }
            let got = h.samples(&id);
            proptest::prop_assert!(got.len() <= capacity);
            proptest::prop_assert!(got.windows(2).all(|w| w[0].at <= w[1].at));
            proptest::prop_assert_eq!(got.last().copied(), newest);
        }
    }
}

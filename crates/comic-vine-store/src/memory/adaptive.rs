use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::Keyed;
use crate::adaptive::{AdaptiveRateLimitStore, Priority};
use crate::algorithm::prioritized::{self, AdaptiveState};
use crate::clock::{SharedClock, SystemClock, Timestamp};
use crate::config::{AdaptiveConfig, RateLimitConfig};
use crate::error::StoreResult;
use crate::rate_limit::{Decision, RateLimitStatus};

/// An in-memory [`AdaptiveRateLimitStore`]: [`crate::algorithm::prioritized`] under
/// one lock.
#[derive(Clone)]
pub struct MemoryAdaptiveRateLimitStore {
    states: Keyed<AdaptiveState>,
    limits: RateLimitConfig,
    adaptive: AdaptiveConfig,
    clock: SharedClock,
}

impl MemoryAdaptiveRateLimitStore {
    /// An adaptive limiter with `limits` and `adaptive` settings (validated with
    /// [`AdaptiveConfig::validate_for`]), and the system clock.
    pub fn new(limits: RateLimitConfig, adaptive: AdaptiveConfig) -> StoreResult<Self> {
        adaptive.validate_for(&limits)?;
        Ok(Self {
            states: Keyed::default(),
            limits,
            adaptive,
            clock: Arc::new(SystemClock),
        })
    }

    /// A handle on the same state that reads time from `clock`.
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self {
            clock,
            ..self.clone()
        }
    }

    fn update<T>(
        &self,
        resource: &str,
        f: impl FnOnce(&AdaptiveState, Timestamp) -> (T, Option<AdaptiveState>),
    ) -> StoreResult<T> {
        self.states.update(resource, self.clock.now(), f)
    }

    fn evaluate(&self, resource: &str, priority: Priority) -> StoreResult<Decision> {
        let limit = self.limits.limit_for(resource);
        self.update(resource, |s, now| {
            let (d, split, recalculated) =
                prioritized::evaluate(s, now, priority, limit, &self.adaptive);
            let new_state = recalculated.then(|| AdaptiveState {
                split: Some(split),
                ..s.clone()
            });
            (d, new_state)
        })
    }
}

#[async_trait]
impl AdaptiveRateLimitStore for MemoryAdaptiveRateLimitStore {
    async fn try_acquire(&self, resource: &str, priority: Priority) -> StoreResult<Decision> {
        let limit = self.limits.limit_for(resource);
        self.update(resource, |s, now| {
            let (o, _) = prioritized::try_acquire(s, now, priority, limit, &self.adaptive);
            (o.decision, o.new_state)
        })
    }

    async fn can_proceed(&self, resource: &str, priority: Priority) -> StoreResult<bool> {
        Ok(self.evaluate(resource, priority)?.granted)
    }

    async fn record(&self, resource: &str, priority: Priority) -> StoreResult<()> {
        let limit = self.limits.limit_for(resource);
        self.update(resource, |s, now| {
            let next = prioritized::record(s, now, priority, limit, &self.adaptive);
            ((), Some(next))
        })
    }

    async fn status(&self, resource: &str) -> StoreResult<RateLimitStatus> {
        let limit = self.limits.limit_for(resource);
        self.update(resource, |s, now| {
            let (d, split, recalculated) =
                prioritized::evaluate(s, now, Priority::User, limit, &self.adaptive);
            let status = RateLimitStatus {
                remaining: d.remaining,
                limit: limit.limit(),
                window: limit.window(),
                reset_at: d.reset_at,
                cooldown_until: s.cooldown_until.filter(|&c| c > now),
                adaptive: Some(split.clone()),
            };
            let new_state = recalculated.then(|| AdaptiveState {
                split: Some(split),
                ..s.clone()
            });
            (status, new_state)
        })
    }

    async fn reset(&self, resource: &str) -> StoreResult<()> {
        self.states.remove(resource)
    }

    async fn wait_time(&self, resource: &str, priority: Priority) -> StoreResult<Duration> {
        Ok(self.evaluate(resource, priority)?.wait)
    }

    async fn cooldown(&self, resource: &str, until: Timestamp) -> StoreResult<()> {
        self.update(resource, |s, _| ((), prioritized::cooldown(s, until)))
    }
}

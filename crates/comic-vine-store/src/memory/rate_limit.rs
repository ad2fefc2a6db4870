use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::Keyed;
use crate::algorithm::window::{self, WindowState};
use crate::clock::{SharedClock, SystemClock, Timestamp};
use crate::config::RateLimitConfig;
use crate::error::StoreResult;
use crate::rate_limit::{Decision, RateLimitStatus, RateLimitStore};

/// An in-memory [`RateLimitStore`]: the sliding window of
/// [`crate::algorithm::window`] under one lock.
#[derive(Clone)]
pub struct MemoryRateLimitStore {
    windows: Keyed<WindowState>,
    config: RateLimitConfig,
    clock: SharedClock,
}

impl MemoryRateLimitStore {
    /// A limiter with `config` and the system clock.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            windows: Keyed::default(),
            config,
            clock: Arc::new(SystemClock),
        }
    }

    /// A handle on the same windows that reads time from `clock`.
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self {
            clock,
            ..self.clone()
        }
    }

    /// Runs `f` on the resource's state under the lock, storing what it returns.
    fn update<T>(
        &self,
        resource: &str,
        f: impl FnOnce(&WindowState, Timestamp) -> (T, Option<WindowState>),
    ) -> StoreResult<T> {
        self.windows.update(resource, self.clock.now(), f)
    }

    fn evaluate(&self, resource: &str) -> StoreResult<Decision> {
        let limit = self.config.limit_for(resource);
        self.update(resource, |s, now| (window::evaluate(s, now, limit), None))
    }
}

#[async_trait]
impl RateLimitStore for MemoryRateLimitStore {
    async fn try_acquire(&self, resource: &str) -> StoreResult<Decision> {
        let limit = self.config.limit_for(resource);
        self.update(resource, |s, now| {
            let o = window::try_acquire(s, now, limit);
            (o.decision, o.new_state)
        })
    }

    async fn can_proceed(&self, resource: &str) -> StoreResult<bool> {
        Ok(self.evaluate(resource)?.granted)
    }

    async fn record(&self, resource: &str) -> StoreResult<()> {
        let limit = self.config.limit_for(resource);
        self.update(resource, |s, now| ((), Some(window::record(s, now, limit))))
    }

    async fn status(&self, resource: &str) -> StoreResult<RateLimitStatus> {
        let limit = self.config.limit_for(resource);
        self.update(resource, |s, now| {
            let d = window::evaluate(s, now, limit);
            let status = RateLimitStatus {
                remaining: d.remaining,
                limit: limit.limit(),
                window: limit.window(),
                reset_at: d.reset_at,
                cooldown_until: s.cooldown_until().filter(|&c| c > now),
                adaptive: None,
            };
            (status, None)
        })
    }

    async fn reset(&self, resource: &str) -> StoreResult<()> {
        self.windows.remove(resource)
    }

    async fn wait_time(&self, resource: &str) -> StoreResult<Duration> {
        Ok(self.evaluate(resource)?.wait)
    }

    async fn cooldown(&self, resource: &str, until: Timestamp) -> StoreResult<()> {
        self.update(resource, |s, _| ((), window::cooldown(s, until)))
    }
}

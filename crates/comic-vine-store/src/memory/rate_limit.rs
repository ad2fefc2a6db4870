use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::MemoryCell;
use crate::cell::CellRateLimitStore;
use crate::clock::{SharedClock, SystemClock, Timestamp};
use crate::config::RateLimitConfig;
use crate::error::StoreResult;
use crate::rate_limit::{Decision, RateLimitStatus, RateLimitStore};

/// An in-memory [`RateLimitStore`]: the core's [`CellRateLimitStore`] (the sliding
/// window of [`crate::algorithm::window`]) over a [`MemoryCell`].
#[derive(Clone)]
pub struct MemoryRateLimitStore {
    pub(super) inner: CellRateLimitStore<MemoryCell>,
}

impl MemoryRateLimitStore {
    /// A limiter with `config` and the system clock.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            inner: CellRateLimitStore::new(
                Arc::new(MemoryCell::new()),
                config,
                Arc::new(SystemClock),
            ),
        }
    }

    /// A handle on the same windows that reads time from `clock`.
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self {
            inner: self.inner.with_clock(clock),
        }
    }
}

#[async_trait]
impl RateLimitStore for MemoryRateLimitStore {
    async fn try_acquire(&self, resource: &str) -> StoreResult<Decision> {
        self.inner.try_acquire(resource).await
    }

    async fn can_proceed(&self, resource: &str) -> StoreResult<bool> {
        self.inner.can_proceed(resource).await
    }

    async fn record(&self, resource: &str) -> StoreResult<()> {
        self.inner.record(resource).await
    }

    async fn status(&self, resource: &str) -> StoreResult<RateLimitStatus> {
        self.inner.status(resource).await
    }

    async fn reset(&self, resource: &str) -> StoreResult<()> {
        self.inner.reset(resource).await
    }

    async fn wait_time(&self, resource: &str) -> StoreResult<Duration> {
        self.inner.wait_time(resource).await
    }

    async fn cooldown(&self, resource: &str, until: Timestamp) -> StoreResult<()> {
        self.inner.cooldown(resource, until).await
    }
}

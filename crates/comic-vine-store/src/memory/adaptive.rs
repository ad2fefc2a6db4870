use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::MemoryCell;
use crate::adaptive::{AdaptiveRateLimitStore, Priority};
use crate::cell::CellAdaptiveStore;
use crate::clock::{SharedClock, SystemClock, Timestamp};
use crate::config::{AdaptiveConfig, RateLimitConfig};
use crate::error::StoreResult;
use crate::rate_limit::{Decision, RateLimitStatus};

/// An in-memory [`AdaptiveRateLimitStore`]: the core's [`CellAdaptiveStore`]
/// ([`crate::algorithm::prioritized`]) over a [`MemoryCell`].
#[derive(Clone)]
pub struct MemoryAdaptiveRateLimitStore {
    pub(super) inner: CellAdaptiveStore<MemoryCell>,
}

impl MemoryAdaptiveRateLimitStore {
    /// An adaptive limiter with `limits` and `adaptive` settings (validated with
    /// [`AdaptiveConfig::validate_for`]), and the system clock.
    pub fn new(limits: RateLimitConfig, adaptive: AdaptiveConfig) -> StoreResult<Self> {
        Ok(Self {
            inner: CellAdaptiveStore::new(
                Arc::new(MemoryCell::new()),
                limits,
                adaptive,
                Arc::new(SystemClock),
            )?,
        })
    }

    /// A handle on the same state that reads time from `clock`.
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self {
            inner: self.inner.with_clock(clock),
        }
    }
}

#[async_trait]
impl AdaptiveRateLimitStore for MemoryAdaptiveRateLimitStore {
    async fn try_acquire(&self, resource: &str, priority: Priority) -> StoreResult<Decision> {
        self.inner.try_acquire(resource, priority).await
    }

    async fn can_proceed(&self, resource: &str, priority: Priority) -> StoreResult<bool> {
        self.inner.can_proceed(resource, priority).await
    }

    async fn record(&self, resource: &str, priority: Priority) -> StoreResult<()> {
        self.inner.record(resource, priority).await
    }

    async fn status(&self, resource: &str) -> StoreResult<RateLimitStatus> {
        self.inner.status(resource).await
    }

    async fn reset(&self, resource: &str) -> StoreResult<()> {
        self.inner.reset(resource).await
    }

    async fn wait_time(&self, resource: &str, priority: Priority) -> StoreResult<Duration> {
        self.inner.wait_time(resource, priority).await
    }

    async fn cooldown(&self, resource: &str, until: Timestamp) -> StoreResult<()> {
        self.inner.cooldown(resource, until).await
    }
}

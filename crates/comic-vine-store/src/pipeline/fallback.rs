//! The outage fallback: while the shared stores are unavailable (circuit breaker open,
//! backend down, throttled or timing out), requests go on under an in-process limiter
//! holding this process's share of the limits, with no shared cache or deduplication.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::limiter::Limiter;
use crate::clock::SharedClock;
use crate::config::RateLimitConfig;
use crate::error::{StoreError, StoreResult};
use crate::memory::MemoryRateLimitStore;

/// How a [`Pipeline`](super::Pipeline) keeps working while its shared stores are down.
///
/// The in-process limiter holds this process's share of the fleet's limits, so while
/// degraded this process makes at most its share of calls per window. Calls other
/// processes made just before the outage cannot be seen: in the window where the
/// outage begins, the fleet can exceed its limit by at most the shares of the processes
/// that degrade. Priorities are not applied while degraded.
///
/// ```
/// use comic_vine_store::RateLimitConfig;
/// use comic_vine_store::pipeline::OutageFallback;
///
/// // Eight processes share Comic Vine's 200 per hour: 25 each while degraded.
/// let fallback = OutageFallback::share_of(&RateLimitConfig::comic_vine(), 8)?;
/// assert_eq!(fallback.limits().limit_for("issues").limit(), 25);
/// # Ok::<(), comic_vine_store::StoreError>(())
/// ```
#[derive(Clone, Debug)]
pub struct OutageFallback {
    limits: RateLimitConfig,
}

impl OutageFallback {
    /// This process's share of `fleet`: every limit ÷ `processes` (rounded down, at
    /// least 1).
    pub fn share_of(fleet: &RateLimitConfig, processes: u32) -> StoreResult<Self> {
        Ok(Self {
            limits: fleet.share(processes)?,
        })
    }

    /// The limits this process keeps to while degraded, as given.
    pub fn with_limits(limits: RateLimitConfig) -> Self {
        Self { limits }
    }

    /// The limits this process keeps to while degraded.
    pub fn limits(&self) -> &RateLimitConfig {
        &self.limits
    }
}

/// A pipeline's fallback state: the in-process limiter, and whether it is in use.
pub(super) struct Fallback {
    pub(super) limiter: Limiter,
    degraded: AtomicBool,
}

impl Fallback {
    pub(super) fn new(config: OutageFallback, clock: SharedClock) -> Arc<Self> {
        Arc::new(Self {
            limiter: Limiter::Plain(Arc::new(
                MemoryRateLimitStore::new(config.limits).with_clock(clock),
            )),
            degraded: AtomicBool::new(false),
        })
    }

    /// Whether `error` means the shared stores are unavailable (rather than, say, bad
    /// input, which the fallback would not fix).
    pub(super) fn is_outage(error: &StoreError) -> bool {
        error.is_severe() || matches!(error, StoreError::CircuitBreakerOpen { .. })
    }

    /// Records that a shared store failed with an outage; logs the first time.
    pub(super) fn degrade(&self, step: &str, error: &StoreError) {
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                step,
                error = %error,
                "shared stores unavailable: going on with the in-process limiter share, without the shared cache"
            );
        }
    }

    /// Records that a shared store answered; logs the return the first time.
    pub(super) fn recover(&self) {
        if self.degraded.swap(false, Ordering::Relaxed) {
            tracing::info!("shared stores available again: back to the shared cache and limits");
        }
    }

    /// Whether the last shared store call failed with an outage.
    pub(super) fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }
}

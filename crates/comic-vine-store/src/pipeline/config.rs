//! Settings of a pipeline: TTL, waits, and when a stale entry may answer.

use std::time::Duration;

use crate::cache::{CacheEntry, Freshness};
use crate::clock::Timestamp;

/// When a [`Pipeline`](super::Pipeline) may answer with a cache entry that is no longer
/// fresh. Each window counts from the end of the entry's freshness; every window is off
/// (zero) by default. Entries are stored servable for the longest window (their stale
/// horizon), so a window longer than the cache's maximum TTL minus the TTL is refused
/// by the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StalePolicy {
    /// Within this window a stale entry answers at once, and one refresh runs in the
    /// background (one per key across the fleet, at background priority, skipped when
    /// the rate limit budget is spent). Needs a [`Refresher`](super::Refresher).
    pub stale_while_revalidate: Duration,
    /// Within this window a stale entry answers when upstream fails.
    pub stale_if_error: Duration,
    /// Within this window a stale entry answers when the rate limit would make the
    /// request wait longer than `max_wait`, or the resource is in a 429/420 cooldown.
    pub stale_if_rate_limited: Duration,
}

impl StalePolicy {
    /// No stale answers.
    pub fn none() -> Self {
        Self::default()
    }

    /// For Comic Vine (200 requests per resource per hour): a stale entry up to 24 h
    /// old answers while the hourly budget is spent or a 420 cooldown runs.
    pub fn comic_vine() -> Self {
        Self {
            stale_if_rate_limited: Duration::from_secs(24 * 3600),
            ..Self::default()
        }
    }

    /// How long past its freshness an entry must stay stored: the longest window.
    pub fn horizon(&self) -> Duration {
        self.stale_while_revalidate
            .max(self.stale_if_error)
            .max(self.stale_if_rate_limited)
    }

    /// Whether `entry`, at `now`, has been stale for less than `window`.
    pub(super) fn within<V>(entry: &CacheEntry<V>, now: Timestamp, window: Duration) -> bool {
        !window.is_zero() && !entry.is_fresh(now) && entry.staleness(now) < window
    }
}

/// Settings of a [`Pipeline`](super::Pipeline).
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// How long cached values are fresh (`None`: the cache store's default TTL).
    pub cache_ttl: Option<Duration>,
    /// The longest the owner waits for the rate limit before failing (default 60 s).
    pub max_wait: Duration,
    /// Cooldown after a 429/420 that named no wait (default 60 s).
    pub default_cooldown: Duration,
    /// Attempts when a joined job failed or vanished (default 3).
    pub attempts: u32,
    /// When a stale entry may answer (default: never).
    pub stale: StalePolicy,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            cache_ttl: None,
            max_wait: Duration::from_secs(60),
            default_cooldown: Duration::from_secs(60),
            attempts: 3,
            stale: StalePolicy::default(),
        }
    }
}

impl PipelineConfig {
    /// The freshness values are cached with: fresh for `cache_ttl`, kept for the stale
    /// policy's longest window.
    pub fn freshness(&self) -> Freshness {
        Freshness::fresh_for(self.cache_ttl).with_stale_for(self.stale.horizon())
    }
}

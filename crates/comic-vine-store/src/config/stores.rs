//! Settings of the cache and dedupe stores: [`CacheConfig`], [`DedupeConfig`].

use std::time::Duration;

use super::{at_least_a_millisecond, require};
use crate::error::{StoreError, StoreResult};

/// Settings of a cache store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// TTL used when `set` is given none (default 1 hour).
    pub default_ttl: Duration,
    /// The longest TTL accepted (default 30 days); longer is an `InvalidInput` error.
    pub max_ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(3600),
            max_ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl CacheConfig {
    /// Checks the settings.
    pub fn validate(&self) -> StoreResult<()> {
        require(
            self.default_ttl >= Duration::from_secs(1),
            "cache.default_ttl",
            "must be at least 1 s",
        )?;
        require(
            self.max_ttl >= self.default_ttl,
            "cache.max_ttl",
            "must not be shorter than default_ttl",
        )
    }

    /// The TTL `set` applies: `ttl`, or the default; an error past the maximum.
    pub fn effective_ttl(&self, ttl: Option<Duration>) -> StoreResult<Duration> {
        let ttl = ttl.unwrap_or(self.default_ttl);
        if ttl > self.max_ttl {
            return Err(StoreError::invalid_input(
                "ttl",
                format!("{ttl:?} exceeds the maximum of {:?}", self.max_ttl),
            ));
        }
        Ok(ttl)
    }
}

/// Settings of a dedupe store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DedupeConfig {
    /// How long a job's owner holds it without extending its lease; after that another
    /// caller may take the job over (default 30 s).
    pub lease: Duration,
    /// The longest `wait_for` waits for a job to finish (default 5 min, the original's
    /// job timeout).
    pub job_timeout: Duration,
    /// How long a finished job's result stays available to late waiters (default 10 s).
    /// It is not a cache: a new `register_or_join` after the grace starts a new job.
    pub result_grace: Duration,
    /// First delay between polls of a backend that cannot notify (doubles up to
    /// `max_poll_interval`).
    pub poll_interval: Duration,
    /// Longest delay between polls.
    pub max_poll_interval: Duration,
}

impl Default for DedupeConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            job_timeout: Duration::from_secs(300),
            result_grace: Duration::from_secs(10),
            poll_interval: Duration::from_millis(50),
            max_poll_interval: Duration::from_secs(1),
        }
    }
}

impl DedupeConfig {
    /// Checks the settings.
    pub fn validate(&self) -> StoreResult<()> {
        for (field, d) in [
            ("lease", self.lease),
            ("job_timeout", self.job_timeout),
            ("poll_interval", self.poll_interval),
            ("max_poll_interval", self.max_poll_interval),
        ] {
            at_least_a_millisecond(format!("dedupe.{field}"), d)?;
        }
        require(
            self.max_poll_interval >= self.poll_interval,
            "dedupe.max_poll_interval",
            "must not be shorter than poll_interval",
        )
    }
}

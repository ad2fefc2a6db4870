//! Limits per resource: [`RateLimit`] and [`RateLimitConfig`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::at_least_a_millisecond;
use crate::error::{StoreError, StoreResult};
use crate::validate;

/// The largest limit accepted for one resource. A window's state stays bounded at any
/// limit (see [`crate::algorithm::window_form`]).
pub const MAX_LIMIT: u32 = 100_000;

/// The largest limit the adaptive limiter accepts: its state still keeps one time per
/// grant in the window (the plain limiter's is bounded at any limit).
pub const MAX_ADAPTIVE_LIMIT: u32 = 10_000;

/// A limit of `limit` requests per `window` for one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRateLimit", into = "RawRateLimit")]
pub struct RateLimit {
    limit: u32,
    window: Duration,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    limit: u32,
    window_ms: u64,
}

impl TryFrom<RawRateLimit> for RateLimit {
    type Error = StoreError;
    fn try_from(raw: RawRateLimit) -> StoreResult<Self> {
        Self::new(raw.limit, Duration::from_millis(raw.window_ms))
    }
}

impl From<RateLimit> for RawRateLimit {
    fn from(r: RateLimit) -> Self {
        Self {
            limit: r.limit,
            window_ms: crate::clock::duration_millis(r.window),
        }
    }
}

impl RateLimit {
    /// `limit` requests per `window`; both must be positive, the window a whole number
    /// of milliseconds of at least 1 ms, the limit at most [`MAX_LIMIT`].
    pub fn new(limit: u32, window: Duration) -> StoreResult<Self> {
        if limit == 0 {
            return Err(StoreError::invalid_config("limit", "must be at least 1"));
        }
        if limit > MAX_LIMIT {
            return Err(StoreError::invalid_config(
                "limit",
                format!("{limit} exceeds the maximum of {MAX_LIMIT}"),
            ));
        }
        at_least_a_millisecond("window", window)?;
        if window > Duration::from_secs(366 * 24 * 3600) {
            return Err(StoreError::invalid_config(
                "window",
                "must be at most a year",
            ));
        }
        Ok(Self { limit, window })
    }

    /// The default limit: 60 requests per minute.
    pub fn default_limit() -> Self {
        Self {
            limit: 60,
            window: Duration::from_secs(60),
        }
    }

    /// Comic Vine's own limit: 200 requests per resource per hour.
    pub fn comic_vine() -> Self {
        Self {
            limit: 200,
            window: Duration::from_secs(3600),
        }
    }

    /// Requests allowed per window.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The window length.
    pub fn window(&self) -> Duration {
        self.window
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::default_limit()
    }
}

/// Rate limits per resource, with a default for resources not listed.
///
/// ```
/// use std::time::Duration;
/// use comic_vine_store::config::{RateLimit, RateLimitConfig};
///
/// let config = RateLimitConfig::comic_vine()
///     .with_resource("search", RateLimit::new(100, Duration::from_secs(3600))?)?;
/// assert_eq!(config.limit_for("issues").limit(), 200);
/// assert_eq!(config.limit_for("search").limit(), 100);
/// # Ok::<(), comic_vine_store::StoreError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRateLimitConfig", into = "RawRateLimitConfig")]
pub struct RateLimitConfig {
    pub(super) default: RateLimit,
    pub(super) resources: BTreeMap<String, RateLimit>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimitConfig {
    #[serde(default)]
    default: RateLimit,
    #[serde(default)]
    resources: BTreeMap<String, RateLimit>,
}

impl TryFrom<RawRateLimitConfig> for RateLimitConfig {
    type Error = StoreError;
    fn try_from(raw: RawRateLimitConfig) -> StoreResult<Self> {
        let mut config = Self::new(raw.default);
        for (resource, limit) in raw.resources {
            config = config.with_resource(resource, limit)?;
        }
        Ok(config)
    }
}

impl From<RateLimitConfig> for RawRateLimitConfig {
    fn from(c: RateLimitConfig) -> Self {
        Self {
            default: c.default,
            resources: c.resources,
        }
    }
}

impl RateLimitConfig {
    /// Every resource limited by `default`.
    pub fn new(default: RateLimit) -> Self {
        Self {
            default,
            resources: BTreeMap::new(),
        }
    }

    /// The Comic Vine preset: 200 requests per resource per hour.
    pub fn comic_vine() -> Self {
        Self::new(RateLimit::comic_vine())
    }

    /// Adds or replaces the limit of one resource.
    pub fn with_resource(
        mut self,
        resource: impl Into<String>,
        limit: RateLimit,
    ) -> StoreResult<Self> {
        let resource = resource.into();
        validate::resource(&resource).map_err(|e| {
            StoreError::invalid_config(format!("resources.{resource:?}"), e.to_string())
        })?;
        self.resources.insert(resource, limit);
        Ok(self)
    }

    /// The limit that applies to `resource`.
    pub fn limit_for(&self, resource: &str) -> RateLimit {
        self.resources
            .get(resource)
            .copied()
            .unwrap_or(self.default)
    }

    /// The default limit.
    pub fn default_limit(&self) -> RateLimit {
        self.default
    }

    /// One of `parts` equal shares of these limits (e.g. one process's share of a
    /// fleet's): every limit divided by `parts`, rounded down but at least 1, over the
    /// same window.
    ///
    /// ```
    /// use comic_vine_store::RateLimitConfig;
    ///
    /// let share = RateLimitConfig::comic_vine().share(8)?;
    /// assert_eq!(share.limit_for("issues").limit(), 25);
    /// # Ok::<(), comic_vine_store::StoreError>(())
    /// ```
    pub fn share(&self, parts: u32) -> StoreResult<Self> {
        if parts == 0 {
            return Err(StoreError::invalid_config(
                "processes",
                "must be at least 1",
            ));
        }
        let divide = |l: RateLimit| RateLimit {
            limit: (l.limit / parts).max(1),
            window: l.window,
        };
        Ok(Self {
            default: divide(self.default),
            resources: self
                .resources
                .iter()
                .map(|(r, l)| (r.clone(), divide(*l)))
                .collect(),
        })
    }
}

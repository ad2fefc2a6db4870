//! Configuration of the stores, with the original package's defaults and validation.
//!
//! Every constructor validates: an invalid value is a [`StoreError::InvalidConfig`]
//! naming the option, never a panic. The types also deserialize (from a config file)
//! through the same validation.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

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
        if window < Duration::from_millis(1) {
            return Err(StoreError::invalid_config(
                "window",
                "must be at least 1 ms",
            ));
        }
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
    default: RateLimit,
    resources: BTreeMap<String, RateLimit>,
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

/// Settings of the adaptive (priority-aware) capacity split.
///
/// Defaults follow the original package: monitoring window 15 min, high activity ≥ 10
/// user requests per window, moderate ≥ 3, recalculation every 30 s, sustained
/// inactivity 30 min, background paused on an increasing user trend, user share at most
/// 2.0× its base, at least 5 requests reserved for users.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdaptiveConfig {
    /// How far back user activity is counted.
    #[serde(with = "millis")]
    pub monitoring_window: Duration,
    /// User requests per monitoring window from which activity counts as high.
    pub high_activity_threshold: u32,
    /// User requests per monitoring window from which activity counts as moderate.
    pub moderate_activity_threshold: u32,
    /// How long a calculated split stays in force before it is recalculated.
    #[serde(with = "millis")]
    pub recalculation_interval: Duration,
    /// After this long without user requests, background gets the whole limit.
    #[serde(with = "millis")]
    pub sustained_inactivity_threshold: Duration,
    /// Pause background requests while user activity is high and increasing.
    pub background_pause_on_increasing_trend: bool,
    /// The most the user share may grow relative to its base.
    pub max_user_scaling: f64,
    /// Requests kept for users in every strategy but sustained inactivity.
    pub min_user_reserved: u32,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        Self {
            monitoring_window: Duration::from_secs(15 * 60),
            high_activity_threshold: 10,
            moderate_activity_threshold: 3,
            recalculation_interval: Duration::from_secs(30),
            sustained_inactivity_threshold: Duration::from_secs(30 * 60),
            background_pause_on_increasing_trend: true,
            max_user_scaling: 2.0,
            min_user_reserved: 5,
        }
    }
}

impl AdaptiveConfig {
    /// Checks the settings; the error names the first offending option.
    pub fn validate(&self) -> StoreResult<()> {
        let positive = |field: &str, d: Duration| {
            if d < Duration::from_millis(1) {
                Err(StoreError::invalid_config(
                    format!("adaptive.{field}"),
                    "must be at least 1 ms",
                ))
            } else {
                Ok(())
            }
        };
        positive("monitoring_window", self.monitoring_window)?;
        positive("recalculation_interval", self.recalculation_interval)?;
        positive(
            "sustained_inactivity_threshold",
            self.sustained_inactivity_threshold,
        )?;
        if self.moderate_activity_threshold >= self.high_activity_threshold {
            return Err(StoreError::invalid_config(
                "adaptive.moderate_activity_threshold",
                format!(
                    "must be less than high_activity_threshold ({} >= {})",
                    self.moderate_activity_threshold, self.high_activity_threshold
                ),
            ));
        }
        if !(self.max_user_scaling.is_finite() && self.max_user_scaling > 0.0) {
            return Err(StoreError::invalid_config(
                "adaptive.max_user_scaling",
                format!("must be a positive number, got {}", self.max_user_scaling),
            ));
        }
        Ok(())
    }
}

impl AdaptiveConfig {
    /// Checks the settings together with the limits they split: besides
    /// [`validate`](Self::validate), every limit must exceed `min_user_reserved`, or
    /// background requests of that resource could never run while no user is active,
    /// and be at most [`MAX_ADAPTIVE_LIMIT`].
    pub fn validate_for(&self, limits: &RateLimitConfig) -> StoreResult<()> {
        self.validate()?;
        let all = || {
            std::iter::once(("default", limits.default))
                .chain(limits.resources.iter().map(|(r, l)| (r.as_str(), *l)))
        };
        if let Some((resource, limit)) = all().find(|(_, l)| l.limit() > MAX_ADAPTIVE_LIMIT) {
            return Err(StoreError::invalid_config(
                "limit",
                format!(
                    "{} for `{resource}` exceeds the adaptive limiter's maximum of \
                     {MAX_ADAPTIVE_LIMIT} (its state holds one time per grant)",
                    limit.limit()
                ),
            ));
        }
        let too_small = all().find(|(_, l)| l.limit() <= self.min_user_reserved);
        if let Some((resource, limit)) = too_small {
            return Err(StoreError::invalid_config(
                "adaptive.min_user_reserved",
                format!(
                    "{} reserves the whole limit of `{resource}` ({}) for users, so background \
                     requests could never run; lower it below the limit",
                    self.min_user_reserved,
                    limit.limit()
                ),
            ));
        }
        Ok(())
    }
}

/// Durations as whole milliseconds in config files.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(crate::clock::duration_millis(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

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
        if self.default_ttl < Duration::from_secs(1) {
            return Err(StoreError::invalid_config(
                "cache.default_ttl",
                "must be at least 1 s",
            ));
        }
        if self.max_ttl < self.default_ttl {
            return Err(StoreError::invalid_config(
                "cache.max_ttl",
                "must not be shorter than default_ttl",
            ));
        }
        Ok(())
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
            if d < Duration::from_millis(1) {
                return Err(StoreError::invalid_config(
                    format!("dedupe.{field}"),
                    "must be at least 1 ms",
                ));
            }
        }
        if self.max_poll_interval < self.poll_interval {
            return Err(StoreError::invalid_config(
                "dedupe.max_poll_interval",
                "must not be shorter than poll_interval",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_divides_every_limit_and_keeps_at_least_one() {
        let hour = Duration::from_secs(3600);
        let fleet = RateLimitConfig::comic_vine()
            .with_resource("search", RateLimit::new(3, hour).unwrap())
            .unwrap();
        let share = fleet.share(8).unwrap();
        assert_eq!(share.limit_for("issues"), RateLimit::new(25, hour).unwrap());
        assert_eq!(share.limit_for("search").limit(), 1, "3 ÷ 8 rounds up to 1");
        assert_eq!(fleet.share(1).unwrap(), fleet);
        assert!(matches!(
            fleet.share(0),
            Err(StoreError::InvalidConfig { field, .. }) if field == "processes"
        ));
    }

    #[test]
    fn rate_limit_rejects_zero_limit_and_window() {
        let e = RateLimit::new(0, Duration::from_secs(1)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration `limit`: must be at least 1"
        );
        let e = RateLimit::new(5, Duration::ZERO).unwrap_err();
        assert!(e.to_string().contains("`window`"), "{e}");
        let e = RateLimit::new(MAX_LIMIT + 1, Duration::from_secs(1)).unwrap_err();
        assert!(e.to_string().contains("exceeds the maximum"), "{e}");
    }

    #[test]
    fn defaults_and_presets() {
        let d = RateLimitConfig::default();
        assert_eq!(
            d.limit_for("issues"),
            RateLimit::new(60, Duration::from_secs(60)).unwrap()
        );
        let cv = RateLimitConfig::comic_vine();
        assert_eq!(cv.limit_for("anything").limit(), 200);
        assert_eq!(cv.limit_for("anything").window(), Duration::from_secs(3600));
    }

    #[test]
    fn resource_names_are_validated() {
        let e = RateLimitConfig::default()
            .with_resource("", RateLimit::default())
            .unwrap_err();
        assert!(matches!(e, StoreError::InvalidConfig { .. }), "{e}");
    }

    #[test]
    fn config_files_go_through_validation() {
        let ok: RateLimitConfig = serde_json::from_str(
            r#"{"default":{"limit":20,"window_ms":10000},"resources":{"search":{"limit":5,"window_ms":1000}}}"#,
        )
        .unwrap();
        assert_eq!(ok.limit_for("search").limit(), 5);
        assert_eq!(ok.limit_for("issues").window(), Duration::from_secs(10));
        let zero =
            serde_json::from_str::<RateLimitConfig>(r#"{"default":{"limit":0,"window_ms":10}}"#)
                .unwrap_err();
        assert!(zero.to_string().contains("must be at least 1"), "{zero}");
        let unknown = serde_json::from_str::<RateLimitConfig>(r#"{"defualt":{}}"#).unwrap_err();
        assert!(unknown.to_string().contains("unknown field"), "{unknown}");
        let round: RateLimitConfig =
            serde_json::from_str(&serde_json::to_string(&ok).unwrap()).unwrap();
        assert_eq!(round, ok);
    }

    #[test]
    fn adaptive_defaults_and_validation() {
        let c = AdaptiveConfig::default();
        c.validate().unwrap();
        assert_eq!(c.monitoring_window, Duration::from_secs(900));
        assert_eq!(
            (c.high_activity_threshold, c.moderate_activity_threshold),
            (10, 3)
        );
        assert_eq!(c.min_user_reserved, 5);

        let bad = AdaptiveConfig {
            moderate_activity_threshold: 10,
            ..c.clone()
        };
        let e = bad.validate().unwrap_err();
        assert!(e.to_string().contains("moderate_activity_threshold"), "{e}");
        let bad = AdaptiveConfig {
            max_user_scaling: f64::NAN,
            ..c.clone()
        };
        assert!(bad.validate().is_err());
        let bad = AdaptiveConfig {
            recalculation_interval: Duration::ZERO,
            ..c
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("recalculation_interval")
        );
    }

    #[test]
    fn user_reserve_must_leave_room_for_background() {
        let c = AdaptiveConfig::default();
        c.validate_for(&RateLimitConfig::comic_vine()).unwrap();
        let small = RateLimitConfig::comic_vine()
            .with_resource("search", RateLimit::new(5, Duration::from_secs(1)).unwrap())
            .unwrap();
        let e = c.validate_for(&small).unwrap_err();
        assert!(e.to_string().contains("`search` (5)"), "{e}");
        let relaxed = AdaptiveConfig {
            min_user_reserved: 4,
            ..c
        };
        relaxed.validate_for(&small).unwrap();
    }

    #[test]
    fn the_adaptive_limiter_refuses_limits_its_state_cannot_hold() {
        let c = AdaptiveConfig::default();
        let at_max = RateLimit::new(MAX_ADAPTIVE_LIMIT, Duration::from_secs(60)).unwrap();
        c.validate_for(&RateLimitConfig::new(at_max)).unwrap();
        let big = RateLimitConfig::comic_vine()
            .with_resource(
                "bulk",
                RateLimit::new(MAX_ADAPTIVE_LIMIT + 1, Duration::from_secs(60)).unwrap(),
            )
            .unwrap();
        let e = c.validate_for(&big).unwrap_err();
        assert!(matches!(e, StoreError::InvalidConfig { .. }), "{e}");
        assert!(e.to_string().contains("`bulk`"), "{e}");
    }

    #[test]
    fn cache_ttl_bounds() {
        let c = CacheConfig::default();
        assert_eq!(c.effective_ttl(None).unwrap(), Duration::from_secs(3600));
        assert!(
            c.effective_ttl(Some(Duration::from_secs(31 * 24 * 3600)))
                .is_err()
        );
        let bad = CacheConfig {
            default_ttl: Duration::ZERO,
            ..CacheConfig::default()
        };
        assert!(bad.validate().is_err());
        assert!(
            DedupeConfig {
                lease: Duration::ZERO,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }
}

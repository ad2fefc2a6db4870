//! The adaptive capacity split's settings: [`AdaptiveConfig`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::at_least_a_millisecond;
use crate::error::{StoreError, StoreResult};

use super::*;

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
        let positive = |field: &str, d| at_least_a_millisecond(format!("adaptive.{field}"), d);
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

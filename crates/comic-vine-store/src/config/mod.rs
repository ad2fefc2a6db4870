//! Configuration of the stores, with the original package's defaults and validation.
//!
//! Every constructor validates: an invalid value is a
//! [`StoreError::InvalidConfig`] naming the option,
//! never a panic. The types also deserialize (from a config file) through the same
//! validation.

mod adaptive;
mod rate_limit;
mod stores;

pub use adaptive::AdaptiveConfig;
pub use rate_limit::{MAX_ADAPTIVE_LIMIT, MAX_LIMIT, RateLimit, RateLimitConfig};
pub use stores::{CacheConfig, DedupeConfig};

use std::time::Duration;

use crate::error::{StoreError, StoreResult};

/// `Ok` when `ok`, else [`StoreError::InvalidConfig`] of `field` for `reason`.
fn require(ok: bool, field: impl Into<String>, reason: impl Into<String>) -> StoreResult<()> {
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid_config(field, reason))
    }
}

/// `Ok` when `d` is at least 1 ms, else [`StoreError::InvalidConfig`] of `field`.
fn at_least_a_millisecond(field: impl Into<String>, d: Duration) -> StoreResult<()> {
    require(
        d >= Duration::from_millis(1),
        field,
        "must be at least 1 ms",
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::StoreError;

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

//! The builders of the in-memory rate-limit, adaptive and dedupe stores: the core's
//! [`StoreBuilder`] over a new [`MemoryCell`], defaulting to the system clock.

use std::marker::PhantomData;
use std::sync::Arc;

use super::{MemoryAdaptiveRateLimitStore, MemoryCell, MemoryDedupeStore, MemoryRateLimitStore};
use crate::builder::{AdaptiveSettings, Assemble, DedupeSettings, RateLimitSettings, StoreBuilder};
use crate::cell::{CellAdaptiveStore, CellDedupeStore, CellRateLimitStore};
use crate::clock::{SharedClock, SystemClock};
use crate::error::StoreResult;

/// Builds in-memory stores (each over a cell of its own).
pub struct InMemory<V = serde_json::Value>(PhantomData<fn() -> V>);

/// `MemoryRateLimitStore::builder()…build()?`.
pub type MemoryRateLimitStoreBuilder = StoreBuilder<InMemory, RateLimitSettings>;
/// `MemoryAdaptiveRateLimitStore::builder()…build()?`.
pub type MemoryAdaptiveRateLimitStoreBuilder = StoreBuilder<InMemory, AdaptiveSettings>;
/// `MemoryDedupeStore::builder()…build()?`.
pub type MemoryDedupeStoreBuilder<V = serde_json::Value> =
    StoreBuilder<InMemory<V>, DedupeSettings>;

fn system() -> SharedClock {
    Arc::new(SystemClock)
}

fn in_memory<V>() -> InMemory<V> {
    InMemory(PhantomData)
}

impl Assemble<RateLimitSettings> for InMemory {
    type Store = MemoryRateLimitStore;

    fn assemble(self, s: RateLimitSettings) -> StoreResult<Self::Store> {
        let cell = Arc::new(MemoryCell::new());
        Ok(MemoryRateLimitStore {
            inner: CellRateLimitStore::new(cell, s.limits, s.clock),
        })
    }
}

impl Assemble<AdaptiveSettings> for InMemory {
    type Store = MemoryAdaptiveRateLimitStore;

    fn assemble(self, s: AdaptiveSettings) -> StoreResult<Self::Store> {
        let cell = Arc::new(MemoryCell::new());
        Ok(MemoryAdaptiveRateLimitStore {
            inner: CellAdaptiveStore::new(cell, s.limits, s.adaptive, s.clock)?,
        })
    }
}

impl<V> Assemble<DedupeSettings> for InMemory<V> {
    type Store = MemoryDedupeStore<V>;

    fn assemble(self, s: DedupeSettings) -> StoreResult<Self::Store> {
        let cell = Arc::new(MemoryCell::new());
        Ok(MemoryDedupeStore {
            inner: CellDedupeStore::new(cell, s.clock).with_config(s.config)?,
        })
    }
}

impl MemoryRateLimitStore {
    /// A builder: `.limits(…)`, `.clock(…)` (default: the system clock), `.build()`.
    pub fn builder() -> MemoryRateLimitStoreBuilder {
        StoreBuilder::new(in_memory(), RateLimitSettings::with_clock(system()))
    }
}

impl MemoryAdaptiveRateLimitStore {
    /// A builder: `.limits(…)`, `.adaptive(…)`, `.clock(…)` (default: the system
    /// clock), `.build()` (checks the adaptive settings against the limits).
    pub fn builder() -> MemoryAdaptiveRateLimitStoreBuilder {
        StoreBuilder::new(in_memory(), AdaptiveSettings::with_clock(system()))
    }
}

impl<V> MemoryDedupeStore<V> {
    /// A builder: `.config(…)`, `.clock(…)` (default: the system clock), `.build()`
    /// (validates the settings).
    pub fn builder() -> MemoryDedupeStoreBuilder<V> {
        StoreBuilder::new(in_memory(), DedupeSettings::with_clock(system()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::{ManualClock, Timestamp};
    use crate::config::{AdaptiveConfig, DedupeConfig, RateLimit, RateLimitConfig};
    use crate::dedupe::{DedupeStore, Registration};
    use crate::error::StoreError;
    use crate::rate_limit::RateLimitStore;

    fn two_per_minute() -> RateLimitConfig {
        RateLimitConfig::new(RateLimit::new(2, Duration::from_secs(60)).unwrap())
    }

    #[tokio::test]
    async fn the_builders_apply_limits_and_clock() {
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_000_000)));
        let limiter = MemoryRateLimitStore::builder()
            .limits(two_per_minute())
            .clock(clock.clone())
            .build()
            .unwrap();
        for _ in 0..2 {
            assert!(limiter.try_acquire("r").await.unwrap().granted);
        }
        let denied = limiter.try_acquire("r").await.unwrap();
        assert_eq!((denied.granted, denied.limit), (false, 2));
        assert_eq!(denied.wait, Duration::from_secs(60), "by the given clock");
        clock.advance(Duration::from_secs(60));
        assert!(limiter.try_acquire("r").await.unwrap().granted);

        // The same setters over any cell.
        let cell = Arc::new(MemoryCell::new());
        let on_cell = CellRateLimitStore::builder(cell)
            .limits(two_per_minute())
            .clock(clock)
            .build()
            .unwrap();
        assert_eq!(on_cell.try_acquire("r").await.unwrap().remaining, 1);
    }

    #[tokio::test]
    async fn the_dedupe_builder_applies_its_lease_by_its_clock() {
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_000_000)));
        let config = DedupeConfig {
            lease: Duration::from_secs(5),
            ..DedupeConfig::default()
        };
        let dedupe: MemoryDedupeStore = MemoryDedupeStore::builder()
            .config(config)
            .clock(clock.clone())
            .build()
            .unwrap();
        assert!(dedupe.register_or_join("h").await.unwrap().is_owner());
        clock.advance(Duration::from_secs(5));
        assert!(matches!(
            dedupe.register_or_join("h").await.unwrap(),
            Registration::Owner {
                took_over: true,
                ..
            }
        ));
    }

    #[test]
    fn build_refuses_invalid_settings() {
        let bad = DedupeConfig {
            lease: Duration::ZERO,
            ..DedupeConfig::default()
        };
        let e = MemoryDedupeStore::<serde_json::Value>::builder()
            .config(bad)
            .build()
            .err()
            .unwrap();
        assert!(matches!(e, StoreError::InvalidConfig { .. }), "{e}");

        let adaptive = AdaptiveConfig {
            min_user_reserved: 3,
            ..AdaptiveConfig::default()
        };
        let e = MemoryAdaptiveRateLimitStore::builder()
            .limits(two_per_minute())
            .adaptive(adaptive)
            .build()
            .err()
            .unwrap();
        assert!(matches!(e, StoreError::InvalidConfig { .. }), "{e}");
    }
}

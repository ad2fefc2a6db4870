//! The conformance suite: generic tests every backend must pass.
//!
//! A backend implements the factory traits ([`CacheBackend`], [`DedupeBackend`],
//! [`RateLimitBackend`], [`AdaptiveBackend`]) and invokes the matching macro in an
//! integration test, which expands to one `#[tokio::test]` per case:
//!
//! ```no_run
//! // In tests/conformance.rs of a backend crate (here: the in-memory backend):
//! use comic_vine_store::conformance::MemoryBackend;
//! comic_vine_store::cache_conformance_tests!(async { MemoryBackend::default() });
//! # fn main() {}
//! ```
//!
//! Every call of a factory method must return a *new handle on the same storage*
//! (for a remote backend: a new store on the same table), configured from the
//! [`Setup`] it is given; cases use several handles to stand in for several processes.
//! Time comes from the setup's manual clock, so no case sleeps for windows or TTLs.

pub mod adaptive;
pub mod cache;
pub mod dedupe;
pub mod exactness;
pub mod fleet;
pub mod freshness;
pub mod json_gen;
pub mod meta;
pub mod near;
pub mod rate_limit;
pub mod replay;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::adaptive::AdaptiveRateLimitStore;
use crate::cache::CacheStore;
use crate::clock::{ManualClock, OffsetClock, SharedClock};
use crate::config::{AdaptiveConfig, CacheConfig, DedupeConfig, RateLimitConfig};
use crate::dedupe::DedupeStore;
use crate::error::StoreResult;
use crate::json::RawJson;
use crate::pipeline::{Pipeline, Request, Response};
use crate::rate_limit::RateLimitStore;

/// `pipeline`'s answer to `request`, its upstream (if called) answering `value`; a
/// pipeline error panics (the tests of a pipeline over a backend).
pub async fn answer(
    pipeline: &Pipeline<Value>,
    request: &Request,
    value: Value,
) -> Response<Value> {
    pipeline
        .execute(request, || async { Ok(value) })
        .await
        .expect("the pipeline answers")
}

/// What a case asks a factory for: configuration and a clock.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The test's clock; cases move it.
    pub clock: ManualClock,
    /// This handle's clock offset from `clock`, in milliseconds (clock-skew cases).
    pub skew_millis: i64,
    /// Cache settings.
    pub cache: CacheConfig,
    /// Dedupe settings.
    pub dedupe: DedupeConfig,
    /// Rate limits.
    pub rate_limits: RateLimitConfig,
    /// Adaptive settings.
    pub adaptive: AdaptiveConfig,
}

impl Default for Setup {
    fn default() -> Self {
        Self::new()
    }
}

impl Setup {
    /// Default settings and a manual clock standing at the real current time (so a
    /// backend's real expiry attributes are plausible).
    pub fn new() -> Self {
        Self {
            clock: ManualClock::starting_now(),
            skew_millis: 0,
            cache: CacheConfig::default(),
            dedupe: DedupeConfig::default(),
            rate_limits: RateLimitConfig::default(),
            adaptive: AdaptiveConfig::default(),
        }
    }

    /// The clock a store built from this setup must use.
    pub fn store_clock(&self) -> SharedClock {
        if self.skew_millis == 0 {
            Arc::new(self.clock.clone())
        } else {
            Arc::new(OffsetClock::new(self.clock.clone(), self.skew_millis))
        }
    }

    /// The same setup, for a handle whose clock is `skew_millis` off.
    pub fn skewed(&self, skew_millis: i64) -> Self {
        Self {
            skew_millis,
            ..self.clone()
        }
    }
}

/// Makes cache handles on one shared storage.
#[async_trait]
pub trait CacheBackend: Send + Sync {
    /// A new handle on this backend's cache storage.
    async fn cache(&self, setup: &Setup) -> StoreResult<Arc<dyn CacheStore<Value>>>;
}

/// Makes cache handles that store [`RawJson`] (the exactness cases use both kinds).
#[async_trait]
pub trait RawCacheBackend: CacheBackend {
    /// A new handle on this backend's cache storage, for raw JSON values.
    async fn raw_cache(&self, setup: &Setup) -> StoreResult<Arc<dyn CacheStore<RawJson>>>;
}

/// Makes dedupe handles on one shared storage.
#[async_trait]
pub trait DedupeBackend: Send + Sync {
    /// A new handle on this backend's dedupe storage.
    async fn dedupe(&self, setup: &Setup) -> StoreResult<Arc<dyn DedupeStore<Value>>>;
}

/// Makes rate-limit handles on one shared storage.
#[async_trait]
pub trait RateLimitBackend: Send + Sync {
    /// A new handle on this backend's rate-limit storage.
    async fn rate_limit(&self, setup: &Setup) -> StoreResult<Arc<dyn RateLimitStore>>;
}

/// Makes adaptive rate-limit handles on one shared storage.
#[async_trait]
pub trait AdaptiveBackend: Send + Sync {
    /// A new handle on this backend's adaptive rate-limit storage.
    async fn adaptive(&self, setup: &Setup) -> StoreResult<Arc<dyn AdaptiveRateLimitStore>>;
}

/// Expands to one `#[tokio::test]` per named case of a conformance module.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($module:ident, $backend:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let backend = $backend.await;
                $crate::conformance::$module::$case(&backend).await;
            }
        )*
    };
}

/// The cache cases, for a backend built by the async expression given.
#[macro_export]
macro_rules! cache_conformance_tests {
    ($backend:expr) => {
        $crate::__conformance_cases!(cache, $backend;
            cache_round_trip, cache_ttl_expiry, cache_zero_ttl_removes, cache_delete,
            cache_clear, cache_cleanup_and_stats, cache_rejects_bad_input,
            cache_handles_share_storage, cache_health_check, cache_refuses_oversized_values,
            cache_purge_resource);
        $crate::__conformance_cases!(freshness, $backend;
            freshness_entry_times, freshness_set_is_never_stale, freshness_touch,
            freshness_refuses_long_horizons, freshness_random_sequences);
        $crate::__conformance_cases!(meta, $backend;
            meta_touch_replaces_meta, meta_touch_refusals);
    };
}

/// The exactness cases (random documents through `CacheStore<Value>` and
/// `CacheStore<RawJson>`), for a [`RawCacheBackend`] built by the async expression given.
#[macro_export]
macro_rules! exactness_conformance_tests {
    ($backend:expr) => {
        $crate::__conformance_cases!(exactness, $backend;
            exact_values_round_trip, exact_raw_round_trip);
    };
}

/// The dedupe cases, for a backend built by the async expression given.
#[macro_export]
macro_rules! dedupe_conformance_tests {
    ($backend:expr) => {
        $crate::__conformance_cases!(dedupe, $backend;
            dedupe_exactly_one_owner, dedupe_waiters_get_value, dedupe_failure_reaches_waiters,
            dedupe_lease_takeover, dedupe_extend_lease_keeps_ownership,
            dedupe_result_grace_is_not_a_cache, dedupe_failed_job_does_not_block,
            dedupe_wait_is_bounded, dedupe_rejects_bad_input, dedupe_complete_and_cache,
            dedupe_a_holder_of_its_result_does_not_join_a_finished_job);
    };
}

/// The dedupe cases that also need the backend's own cache (a backend whose dedupe
/// store writes a result into its cache at once is tested on that path).
#[macro_export]
macro_rules! dedupe_cache_conformance_tests {
    ($backend:expr) => {
        $crate::__conformance_cases!(dedupe, $backend; dedupe_complete_and_cache_own);
    };
}

/// The rate-limit cases, for a backend built by the async expression given.
#[macro_export]
macro_rules! rate_limit_conformance_tests {
    ($backend:expr) => {
        $crate::__conformance_cases!(rate_limit, $backend;
            rate_limit_never_exceeds_under_concurrency, rate_limit_window_slides,
            rate_limit_status_and_reset, rate_limit_can_proceed_and_record,
            rate_limit_per_resource, rate_limit_cooldown, rate_limit_clock_skew,
            rate_limit_rejects_bad_input, rate_limit_large_limit_is_bucketed);
    };
}

/// The adaptive rate-limit cases, for a backend built by the async expression given.
#[macro_export]
macro_rules! adaptive_conformance_tests {
    ($backend:expr) => {
        $crate::__conformance_cases!(adaptive, $backend;
            adaptive_background_keeps_user_reserve, adaptive_activity_is_shared,
            adaptive_status_reports_split, adaptive_never_exceeds_under_concurrency,
            adaptive_wait_time_per_priority, adaptive_cooldown, adaptive_record);
    };
}

/// The in-memory stores as a conformance backend (each factory call returns a handle
/// on the same in-memory state, with the setup's clock).
#[derive(Default)]
pub struct MemoryBackend {
    cache: std::sync::OnceLock<crate::memory::MemoryCacheStore>,
    raw_cache: std::sync::OnceLock<crate::memory::MemoryCacheStore<RawJson>>,
    dedupe: std::sync::OnceLock<crate::memory::MemoryDedupeStore>,
    rate_limit: std::sync::OnceLock<crate::memory::MemoryRateLimitStore>,
    adaptive: std::sync::OnceLock<crate::memory::MemoryAdaptiveRateLimitStore>,
}

/// A new [`Setup`] and a cache handle of `b` made with it.
async fn new_cache(b: &impl CacheBackend) -> (Setup, Arc<dyn CacheStore<Value>>) {
    let setup = Setup::new();
    let cache = b.cache(&setup).await.unwrap();
    (setup, cache)
}

fn first_or_init<T>(
    cell: &std::sync::OnceLock<T>,
    init: impl FnOnce() -> StoreResult<T>,
) -> StoreResult<&T> {
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let v = init()?;
    Ok(cell.get_or_init(|| v))
}

/// Implements backend traits for [`MemoryBackend`]: `Trait::method -> Store = init`,
/// where the store made by `init` (from `setup`) on first use is kept in the field of
/// the method's name, and each call hands out a handle on it with the setup's clock.
macro_rules! memory_backend {
    ($($trait:ident::$method:ident -> $store:ty = |$setup:ident| $init:expr;)*) => {$(
        #[async_trait]
        impl $trait for MemoryBackend {
            async fn $method(&self, $setup: &Setup) -> StoreResult<Arc<$store>> {
                let base = first_or_init(&self.$method, || $init)?;
                Ok(Arc::new(base.with_clock($setup.store_clock())))
            }
        }
    )*};
}

memory_backend! {
    CacheBackend::cache -> dyn CacheStore<Value> =
        |setup| crate::memory::MemoryCacheStore::with_config(setup.cache.clone());
    RawCacheBackend::raw_cache -> dyn CacheStore<RawJson> =
        |setup| crate::memory::MemoryCacheStore::with_config(setup.cache.clone());
    DedupeBackend::dedupe -> dyn DedupeStore<Value> =
        |setup| crate::memory::MemoryDedupeStore::with_config(setup.dedupe.clone());
    RateLimitBackend::rate_limit -> dyn RateLimitStore =
        |setup| Ok(crate::memory::MemoryRateLimitStore::new(setup.rate_limits.clone()));
    AdaptiveBackend::adaptive -> dyn AdaptiveRateLimitStore = |setup| {
        crate::memory::MemoryAdaptiveRateLimitStore::new(
            setup.rate_limits.clone(),
            setup.adaptive.clone(),
        )
    };
}

//! [`StoreBuilder`]: one builder shape for every rate-limit, adaptive and dedupe store
//! of every backend, `X::builder(…).limits(…).clock(…).build()?`.
//!
//! The setters are written once, here, on the settings of each kind of store
//! ([`RateLimitSettings`], [`AdaptiveSettings`], [`DedupeSettings`]); a backend only
//! says what it builds from them ([`Assemble`]; [`TakesCache`] where a dedupe store
//! also takes a cache) and which clock it defaults to (the
//! system clock in memory, the table handle's or file handle's clock otherwise). So
//! `limits`, `adaptive`, `config` and `clock` mean the same on every backend.

use std::sync::Arc;

use crate::cell::{CellAdaptiveStore, CellDedupeStore, CellRateLimitStore, JobCell, StateCell};
use crate::clock::SharedClock;
use crate::config::{AdaptiveConfig, DedupeConfig, RateLimitConfig};
use crate::error::StoreResult;

/// What a backend builds from a builder's settings.
pub trait Assemble<S> {
    /// The store built.
    type Store;

    /// The store with `settings` (checked here: this is where `build` fails).
    fn assemble(self, settings: S) -> StoreResult<Self::Store>;
}

/// A store's builder: a backend's [`Assemble`] and the settings it is given.
#[must_use]
pub struct StoreBuilder<A, S> {
    assembler: A,
    settings: S,
}

impl<A: Assemble<S>, S> StoreBuilder<A, S> {
    /// A builder of `assembler`'s store, starting from `settings`.
    pub fn new(assembler: A, settings: S) -> Self {
        Self {
            assembler,
            settings,
        }
    }

    /// The store; an error if the settings are invalid.
    pub fn build(self) -> StoreResult<A::Store> {
        self.assembler.assemble(self.settings)
    }
}

/// The settings of a rate-limit store.
#[derive(Clone)]
pub struct RateLimitSettings {
    /// The limits per resource.
    pub limits: RateLimitConfig,
    /// The clock decisions are made by.
    pub clock: SharedClock,
}

impl RateLimitSettings {
    /// The default limits ([`RateLimitConfig::default`]) with `clock`.
    pub fn with_clock(clock: SharedClock) -> Self {
        Self {
            limits: RateLimitConfig::default(),
            clock,
        }
    }
}

/// The settings of an adaptive rate-limit store.
#[derive(Clone)]
pub struct AdaptiveSettings {
    /// The limits per resource.
    pub limits: RateLimitConfig,
    /// The adaptive settings (checked against the limits by `build`).
    pub adaptive: AdaptiveConfig,
    /// The clock decisions are made by.
    pub clock: SharedClock,
}

impl AdaptiveSettings {
    /// The default limits and adaptive settings with `clock`.
    pub fn with_clock(clock: SharedClock) -> Self {
        Self {
            limits: RateLimitConfig::default(),
            adaptive: AdaptiveConfig::default(),
            clock,
        }
    }
}

/// The settings of a dedupe store.
#[derive(Clone)]
pub struct DedupeSettings {
    /// Leases, timeouts, grace and polling (validated by `build`).
    pub config: DedupeConfig,
    /// The clock leases and result grace are measured by.
    pub clock: SharedClock,
}

impl DedupeSettings {
    /// The default dedupe settings with `clock`.
    pub fn with_clock(clock: SharedClock) -> Self {
        Self {
            config: DedupeConfig::default(),
            clock,
        }
    }
}

/// Settings with a clock.
pub trait Clocked {
    /// The clock to set.
    fn clock_mut(&mut self) -> &mut SharedClock;
}

/// Settings with limits per resource.
pub trait Limited {
    /// The limits to set.
    fn limits_mut(&mut self) -> &mut RateLimitConfig;
}

impl Clocked for RateLimitSettings {
    fn clock_mut(&mut self) -> &mut SharedClock {
        &mut self.clock
    }
}

impl Clocked for AdaptiveSettings {
    fn clock_mut(&mut self) -> &mut SharedClock {
        &mut self.clock
    }
}

impl Clocked for DedupeSettings {
    fn clock_mut(&mut self) -> &mut SharedClock {
        &mut self.clock
    }
}

impl Limited for RateLimitSettings {
    fn limits_mut(&mut self) -> &mut RateLimitConfig {
        &mut self.limits
    }
}

impl Limited for AdaptiveSettings {
    fn limits_mut(&mut self) -> &mut RateLimitConfig {
        &mut self.limits
    }
}

impl<A, S: Clocked> StoreBuilder<A, S> {
    /// The clock decisions, leases and grace are measured by (default: the backend's
    /// clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        *self.settings.clock_mut() = clock;
        self
    }
}

impl<A, S: Limited> StoreBuilder<A, S> {
    /// The limits per resource (default [`RateLimitConfig::default`]).
    pub fn limits(mut self, limits: RateLimitConfig) -> Self {
        *self.settings.limits_mut() = limits;
        self
    }
}

impl<A> StoreBuilder<A, AdaptiveSettings> {
    /// The adaptive settings (default [`AdaptiveConfig::default`]; checked against the
    /// limits by `build`, [`AdaptiveConfig::validate_for`]).
    pub fn adaptive(mut self, adaptive: AdaptiveConfig) -> Self {
        self.settings.adaptive = adaptive;
        self
    }
}

impl<A> StoreBuilder<A, DedupeSettings> {
    /// The dedupe settings (default [`DedupeConfig::default`]; validated by `build`).
    pub fn config(mut self, config: DedupeConfig) -> Self {
        self.settings.config = config;
        self
    }
}

/// An assembler that can be given a cache for its dedupe store to complete jobs into
/// (the DynamoDB dedupe store's, which then writes a job's value once, into the entry).
pub trait TakesCache {
    /// The cache the store completes into.
    type Cache;

    /// Completes into `cache`.
    fn set_cache(&mut self, cache: Self::Cache);
}

impl<A: TakesCache> StoreBuilder<A, DedupeSettings> {
    /// The cache store this dedupe store completes jobs into (what that means is the
    /// backend's: see its [`TakesCache`] implementation).
    pub fn cache(mut self, cache: A::Cache) -> Self {
        self.assembler.set_cache(cache);
        self
    }
}

/// Builds a core store over a shared cell (`CellRateLimitStore::builder(cell)`).
pub struct OnCell<C: ?Sized>(pub Arc<C>);

impl<C: StateCell + ?Sized + 'static> Assemble<RateLimitSettings> for OnCell<C> {
    type Store = CellRateLimitStore<C>;

    fn assemble(self, s: RateLimitSettings) -> StoreResult<Self::Store> {
        Ok(CellRateLimitStore::new(self.0, s.limits, s.clock))
    }
}

impl<C: StateCell + ?Sized + 'static> Assemble<AdaptiveSettings> for OnCell<C> {
    type Store = CellAdaptiveStore<C>;

    fn assemble(self, s: AdaptiveSettings) -> StoreResult<Self::Store> {
        CellAdaptiveStore::new(self.0, s.limits, s.adaptive, s.clock)
    }
}

/// Builds a [`CellDedupeStore`] with values of type `V` over a shared job cell.
pub struct DedupeOnCell<C: ?Sized, V>(pub Arc<C>, pub std::marker::PhantomData<fn() -> V>);

impl<C: JobCell + ?Sized + 'static, V> Assemble<DedupeSettings> for DedupeOnCell<C, V> {
    type Store = CellDedupeStore<C, V>;

    fn assemble(self, s: DedupeSettings) -> StoreResult<Self::Store> {
        CellDedupeStore::new(self.0, s.clock).with_config(s.config)
    }
}

impl<C: StateCell + ?Sized + 'static> CellRateLimitStore<C> {
    /// A builder over `cell` (clock default: the system clock).
    pub fn builder(cell: Arc<C>) -> StoreBuilder<OnCell<C>, RateLimitSettings> {
        StoreBuilder::new(OnCell(cell), RateLimitSettings::with_clock(system()))
    }
}

impl<C: StateCell + ?Sized + 'static> CellAdaptiveStore<C> {
    /// A builder over `cell` (clock default: the system clock).
    pub fn builder(cell: Arc<C>) -> StoreBuilder<OnCell<C>, AdaptiveSettings> {
        StoreBuilder::new(OnCell(cell), AdaptiveSettings::with_clock(system()))
    }
}

impl<C: JobCell + ?Sized + 'static, V> CellDedupeStore<C, V> {
    /// A builder over `cell` (clock default: the system clock).
    pub fn builder(cell: Arc<C>) -> StoreBuilder<DedupeOnCell<C, V>, DedupeSettings> {
        let on = DedupeOnCell(cell, std::marker::PhantomData);
        StoreBuilder::new(on, DedupeSettings::with_clock(system()))
    }
}

fn system() -> SharedClock {
    Arc::new(crate::clock::SystemClock)
}

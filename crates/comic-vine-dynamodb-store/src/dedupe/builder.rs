//! [`DynamoDbDedupeStoreBuilder`], and the store's controls (its gate's).

use std::marker::PhantomData;
use std::sync::Arc;

use comic_vine_store::builder::DedupeSettings;
use comic_vine_store::cell::CellDedupeStore;
use comic_vine_store::clock::SharedClock;
use comic_vine_store::{DedupeConfig, StoreResult};

use super::{DynamoDbDedupeStore, Jobs};
use crate::cache::DynamoDbCacheStore;
use crate::handle::Table;
use crate::resilience::{Gate, Gated};

/// Builds a [`DynamoDbDedupeStore`]:
/// `DynamoDbDedupeStore::builder(&table).config(config).cache(cache).build()?`.
#[must_use]
pub struct DynamoDbDedupeStoreBuilder<V = serde_json::Value> {
    table: Table,
    /// The core's dedupe settings (the same `config` and `clock` as every backend's).
    settings: DedupeSettings,
    cache: Option<Arc<DynamoDbCacheStore<V>>>,
}

impl<V> DynamoDbDedupeStoreBuilder<V> {
    /// The dedupe settings (default [`DedupeConfig::default`]; validated by `build`).
    pub fn config(mut self, config: DedupeConfig) -> Self {
        self.settings.config = config;
        self
    }

    /// The clock leases and result grace are measured by (default: the table handle's
    /// clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.settings.clock = clock;
        self
    }

    /// The cache store this dedupe store completes jobs into: when
    /// [`complete_and_cache`](comic_vine_store::DedupeStore::complete_and_cache) is
    /// given this very store (the same `Arc`, as a pipeline built with both holds it),
    /// the job's completion names the cache entry as its result and the value is
    /// written once, into the entry, from which waiters read it. Any other cache gets
    /// `set` then `complete` (the value written twice).
    pub fn cache(mut self, cache: Arc<DynamoDbCacheStore<V>>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The store, with its own poll loops.
    pub fn build(self) -> StoreResult<DynamoDbDedupeStore<V>> {
        let DedupeSettings { config, clock } = self.settings;
        config.validate()?;
        let cache = self.cache.filter(|c| c.table_name() == self.table.name());
        let gate = Arc::new(Gate::new("dedupe", &self.table));
        Ok(DynamoDbDedupeStore::assemble(
            self.table, gate, config, clock, cache,
        ))
    }
}

impl<V> DynamoDbDedupeStore<V> {
    /// A builder on `table` with the defaults of [`new`](Self::new).
    pub fn builder(table: &Table) -> DynamoDbDedupeStoreBuilder<V> {
        DynamoDbDedupeStoreBuilder {
            table: table.clone(),
            settings: DedupeSettings::with_clock(Arc::clone(table.config().clock())),
            cache: None,
        }
    }

    /// A dedupe store on `table` with the default settings, the table handle's clock
    /// and no cache of its own.
    pub fn new(table: &Table) -> Self {
        let gate = Arc::new(Gate::new("dedupe", table));
        let clock = Arc::clone(table.config().clock());
        Self::assemble(table.clone(), gate, DedupeConfig::default(), clock, None)
    }

    /// The same store with other dedupe settings (validated), with its own poll loops.
    pub fn with_config(&self, config: DedupeConfig) -> StoreResult<Self> {
        config.validate()?;
        let clock = Arc::clone(&self.jobs.clock);
        Ok(self.again(config, clock))
    }

    /// The same store reading time from `clock`, with its own poll loops.
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        self.again(self.jobs.config.clone(), clock)
    }

    /// The same store (table, gate, cache) with `config` and `clock`.
    fn again(&self, config: DedupeConfig, clock: SharedClock) -> Self {
        let (table, gate) = (self.jobs.table.clone(), Arc::clone(&self.jobs.gate));
        Self::assemble(table, gate, config, clock, self.cache.clone())
    }

    /// The store over a new job cell; `config` is valid.
    fn assemble(
        table: Table,
        gate: Arc<Gate>,
        config: DedupeConfig,
        clock: SharedClock,
        cache: Option<Arc<DynamoDbCacheStore<V>>>,
    ) -> Self {
        let jobs = Arc::new(Jobs {
            table,
            gate,
            config: config.clone(),
            clock: Arc::clone(&clock),
        });
        let inner = CellDedupeStore::new(Arc::clone(&jobs), clock)
            .with_config(config)
            .expect("the settings were validated");
        Self {
            inner,
            jobs,
            polls: Arc::default(),
            cache,
            _value: PhantomData,
        }
    }
}

impl<V> Gated for DynamoDbDedupeStore<V> {
    fn gate(&self) -> &Gate {
        &self.jobs.gate
    }
}

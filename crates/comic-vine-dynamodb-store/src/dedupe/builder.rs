//! [`DynamoDbDedupeStoreBuilder`], and the store's controls (its gate's).

use std::marker::PhantomData;
use std::sync::Arc;

use comic_vine_store::clock::SharedClock;
use comic_vine_store::{DedupeConfig, StoreResult};

use super::{DynamoDbDedupeStore, Jobs};
use crate::cache::DynamoDbCacheStore;
use crate::handle::Table;
use crate::resilience::Gate;

/// Builds a [`DynamoDbDedupeStore`]:
/// `DynamoDbDedupeStore::builder(&table).config(config).cache(cache).build()?`.
#[must_use]
pub struct DynamoDbDedupeStoreBuilder<V = serde_json::Value> {
    table: Table,
    config: DedupeConfig,
    clock: SharedClock,
    cache: Option<Arc<DynamoDbCacheStore<V>>>,
}

impl<V> DynamoDbDedupeStoreBuilder<V> {
    /// The dedupe settings (default [`DedupeConfig::default`]; validated by `build`).
    pub fn config(mut self, config: DedupeConfig) -> Self {
        self.config = config;
        self
    }

    /// The clock leases and result grace are measured by (default: the table handle's
    /// clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
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
        self.config.validate()?;
        let cache = self.cache.filter(|c| c.table_name() == self.table.name());
        Ok(DynamoDbDedupeStore {
            jobs: Jobs {
                gate: Arc::new(Gate::new("dedupe", &self.table)),
                config: self.config,
                clock: self.clock,
                table: self.table,
            },
            polls: Arc::default(),
            cache,
            _value: PhantomData,
        })
    }
}

impl<V> DynamoDbDedupeStore<V> {
    /// A builder on `table` with the defaults of [`new`](Self::new).
    pub fn builder(table: &Table) -> DynamoDbDedupeStoreBuilder<V> {
        DynamoDbDedupeStoreBuilder {
            table: table.clone(),
            config: DedupeConfig::default(),
            clock: Arc::clone(table.config().clock()),
            cache: None,
        }
    }

    /// A dedupe store on `table` with the default settings, the table handle's clock
    /// and no cache of its own.
    pub fn new(table: &Table) -> Self {
        Self {
            jobs: Jobs {
                gate: Arc::new(Gate::new("dedupe", table)),
                config: DedupeConfig::default(),
                clock: Arc::clone(table.config().clock()),
                table: table.clone(),
            },
            polls: Arc::default(),
            cache: None,
            _value: PhantomData,
        }
    }

    /// The same store with other dedupe settings (validated), with its own poll loops.
    pub fn with_config(&self, config: DedupeConfig) -> StoreResult<Self> {
        config.validate()?;
        let mut store = self.clone();
        store.jobs.config = config;
        store.polls = Arc::default();
        Ok(store)
    }

    /// The same store reading time from `clock`, with its own poll loops.
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        let mut store = self.clone();
        store.jobs.clock = clock;
        store.polls = Arc::default();
        store
    }

    /// Whether the table answers, and how fast (a probe read through this store's
    /// breaker and timeout). A failed probe is reported as unhealthy, with the error in
    /// `detail`; this never returns `Err` (the signature matches
    /// [`CacheStore::health_check`](comic_vine_store::CacheStore::health_check)).
    pub async fn health_check(&self) -> StoreResult<comic_vine_store::HealthStatus> {
        Ok(self.jobs.gate.health_check(&self.jobs.table).await)
    }

    /// Counters of this store's DynamoDB traffic.
    pub fn metrics(&self) -> crate::MetricsSnapshot {
        self.jobs.gate.snapshot()
    }

    /// The circuit breaker's state (see [`CircuitStatus`](crate::CircuitStatus)).
    pub fn circuit_status(&self) -> crate::CircuitStatus {
        self.jobs.gate.circuit_status()
    }

    /// Closes the circuit breaker and forgets its failures.
    pub fn reset_circuit(&self) {
        self.jobs.gate.reset_circuit();
    }

    /// Refuses every later operation with
    /// [`StoreError::Closed`](comic_vine_store::StoreError::Closed).
    pub fn close(&self) {
        self.jobs.gate.close();
    }
}

//! [`DynamoDbAdaptiveRateLimitStore`]: the priority-aware limiter on DynamoDB.
//!
//! The policy is the core crate's [`CellAdaptiveStore`]; this file only gives it a
//! [`DynamoDbStateCell`] and runs each operation through the breaker and timeout.
//! One item per resource (`RATELIMIT#<resource>` / `ADAPTIVE`) holds the encoded
//! adaptive state (grants with their priority, user activity, the split in force, the
//! cooldown), so every process decides on the same numbers. Nothing is ever scanned.
//! Requests per decision: a grant is one conditional PutItem (shared by every
//! concurrent caller of the process); a denial on a known state is none; a lost race
//! adds one retry with the item DynamoDB returned; `can_proceed`, `wait_time` and
//! `status` read the item (strongly consistent), and write only a recalculated split.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use comic_vine_store::builder::{AdaptiveSettings, Assemble, StoreBuilder};
use comic_vine_store::cell::CellAdaptiveStore;
use comic_vine_store::clock::SharedClock;
use comic_vine_store::{
    AdaptiveConfig, AdaptiveRateLimitStore, Decision, Priority, RateLimitConfig, RateLimitStatus,
    StoreResult, Timestamp,
};

use crate::handle::{OnTable, Table};
use crate::resilience::{Gate, Gated};
use crate::state_cell::DynamoDbStateCell;

/// A [`AdaptiveRateLimitStore`] on a DynamoDB table, shared by every process.
#[derive(Clone)]
pub struct DynamoDbAdaptiveRateLimitStore {
    table: Table,
    gate: Arc<Gate>,
    limits: RateLimitConfig,
    adaptive: AdaptiveConfig,
    clock: SharedClock,
    inner: CellAdaptiveStore<DynamoDbStateCell>,
}

/// Builds a [`DynamoDbAdaptiveRateLimitStore`]:
/// `DynamoDbAdaptiveRateLimitStore::builder(&table).limits(l).adaptive(a).build()?` (the
/// core's [`StoreBuilder`]: `.limits`, `.adaptive`, `.clock`, default the table
/// handle's clock; `build` checks the adaptive settings against the limits).
pub type DynamoDbAdaptiveRateLimitStoreBuilder = StoreBuilder<OnTable, AdaptiveSettings>;

impl Assemble<AdaptiveSettings> for OnTable {
    type Store = DynamoDbAdaptiveRateLimitStore;

    fn assemble(self, s: AdaptiveSettings) -> StoreResult<DynamoDbAdaptiveRateLimitStore> {
        DynamoDbAdaptiveRateLimitStore::build(&self.0, s.limits, s.adaptive, s.clock)
    }
}

impl DynamoDbAdaptiveRateLimitStore {
    /// A builder on `table` with the defaults of [`new`](Self::new).
    pub fn builder(table: &Table) -> DynamoDbAdaptiveRateLimitStoreBuilder {
        let clock = Arc::clone(table.config().clock());
        StoreBuilder::new(OnTable(table.clone()), AdaptiveSettings::with_clock(clock))
    }

    /// An adaptive limiter on `table` with the default limits and adaptive settings and
    /// the table handle's clock.
    pub fn new(table: &Table) -> StoreResult<Self> {
        Self::builder(table).build()
    }

    /// A limiter on the same table with `limits` (checked against the adaptive
    /// settings like `build`; its own process-local knowledge, like another process).
    pub fn with_limits(&self, limits: RateLimitConfig) -> StoreResult<Self> {
        Self::build(
            &self.table,
            limits,
            self.adaptive.clone(),
            Arc::clone(&self.clock),
        )
    }

    /// A limiter on the same table with other adaptive settings (checked against the
    /// limits like `build`; its own process-local knowledge, like another process).
    pub fn with_adaptive(&self, adaptive: AdaptiveConfig) -> StoreResult<Self> {
        Self::build(
            &self.table,
            self.limits.clone(),
            adaptive,
            Arc::clone(&self.clock),
        )
    }

    /// A limiter on the same table reading time from `clock` (with its own
    /// process-local knowledge, like another process).
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self::build(
            &self.table,
            self.limits.clone(),
            self.adaptive.clone(),
            clock,
        )
        .expect("the settings were validated when this limiter was built")
    }

    fn build(
        table: &Table,
        limits: RateLimitConfig,
        adaptive: AdaptiveConfig,
        clock: SharedClock,
    ) -> StoreResult<Self> {
        let gate = Arc::new(Gate::new("adaptive_rate_limit", table));
        let cell = Arc::new(DynamoDbStateCell::new(table, &gate.metrics, &clock));
        let inner =
            CellAdaptiveStore::new(cell, limits.clone(), adaptive.clone(), Arc::clone(&clock))?;
        Ok(Self {
            table: table.clone(),
            gate,
            limits,
            adaptive,
            clock,
            inner,
        })
    }
}

impl Gated for DynamoDbAdaptiveRateLimitStore {
    fn gate(&self) -> &Gate {
        &self.gate
    }
}

#[async_trait]
impl AdaptiveRateLimitStore for DynamoDbAdaptiveRateLimitStore {
    async fn try_acquire(&self, resource: &str, priority: Priority) -> StoreResult<Decision> {
        self.gate
            .run_on(
                "try_acquire",
                resource,
                self.inner.try_acquire(resource, priority),
            )
            .await
    }

    async fn can_proceed(&self, resource: &str, priority: Priority) -> StoreResult<bool> {
        self.gate
            .run_on(
                "can_proceed",
                resource,
                self.inner.can_proceed(resource, priority),
            )
            .await
    }

    async fn record(&self, resource: &str, priority: Priority) -> StoreResult<()> {
        self.gate
            .run_on("record", resource, self.inner.record(resource, priority))
            .await
    }

    async fn status(&self, resource: &str) -> StoreResult<RateLimitStatus> {
        self.gate
            .run_on("status", resource, self.inner.status(resource))
            .await
    }

    async fn reset(&self, resource: &str) -> StoreResult<()> {
        self.gate
            .run_on("reset", resource, self.inner.reset(resource))
            .await
    }

    async fn wait_time(&self, resource: &str, priority: Priority) -> StoreResult<Duration> {
        self.gate
            .run_on(
                "wait_time",
                resource,
                self.inner.wait_time(resource, priority),
            )
            .await
    }

    async fn cooldown(&self, resource: &str, until: Timestamp) -> StoreResult<()> {
        self.gate
            .run_on("cooldown", resource, self.inner.cooldown(resource, until))
            .await
    }
}

//! [`DynamoDbRateLimitStore`]: the exact sliding-window limiter on DynamoDB.
//!
//! The policy is the core crate's [`CellRateLimitStore`]; this file only gives it a
//! [`DynamoDbStateCell`] and runs each operation through the breaker and timeout.
//! One item per resource (`RATELIMIT#<resource>` / `STATE`) holds the encoded window.
//! Requests per decision: a grant is one conditional PutItem (shared by every
//! concurrent grant of the process); a denial on a known state is none; a lost race
//! adds one retry with the item DynamoDB returned, no extra read; `can_proceed`,
//! `wait_time` and `status` read the item (strongly consistent).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use comic_vine_store::builder::{Assemble, RateLimitSettings, StoreBuilder};
use comic_vine_store::cell::CellRateLimitStore;
use comic_vine_store::clock::SharedClock;
use comic_vine_store::{
    Decision, RateLimitConfig, RateLimitStatus, RateLimitStore, StoreResult, Timestamp,
};

use crate::handle::{OnTable, Table};
use crate::resilience::{Gate, Gated};
use crate::state_cell::DynamoDbStateCell;

/// A [`RateLimitStore`] on a DynamoDB table: exact across every process sharing it.
#[derive(Clone)]
pub struct DynamoDbRateLimitStore {
    table: Table,
    gate: Arc<Gate>,
    clock: SharedClock,
    inner: CellRateLimitStore<DynamoDbStateCell>,
}

/// Builds a [`DynamoDbRateLimitStore`]:
/// `DynamoDbRateLimitStore::builder(&table).limits(limits).build()?` (the core's
/// [`StoreBuilder`]: `.limits`, `.clock`, default the table handle's clock).
pub type DynamoDbRateLimitStoreBuilder = StoreBuilder<OnTable, RateLimitSettings>;

impl Assemble<RateLimitSettings> for OnTable {
    type Store = DynamoDbRateLimitStore;

    fn assemble(self, s: RateLimitSettings) -> StoreResult<DynamoDbRateLimitStore> {
        Ok(DynamoDbRateLimitStore::assemble(&self.0, s.limits, s.clock))
    }
}

impl DynamoDbRateLimitStore {
    /// A builder on `table` with the defaults of [`new`](Self::new).
    pub fn builder(table: &Table) -> DynamoDbRateLimitStoreBuilder {
        let clock = Arc::clone(table.config().clock());
        StoreBuilder::new(OnTable(table.clone()), RateLimitSettings::with_clock(clock))
    }

    /// A limiter on `table` with the default limits and the table handle's clock.
    pub fn new(table: &Table) -> Self {
        Self::assemble(
            table,
            RateLimitConfig::default(),
            Arc::clone(table.config().clock()),
        )
    }

    /// A limiter on the same table with `limits` (and, like every `with_*`, its own
    /// process-local knowledge, like another process).
    pub fn with_limits(&self, limits: RateLimitConfig) -> Self {
        Self::assemble(&self.table, limits, Arc::clone(&self.clock))
    }

    /// A limiter on the same table reading time from `clock` (its own process-local
    /// knowledge of the windows, like another process).
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self::assemble(&self.table, self.inner.limits().clone(), clock)
    }

    fn assemble(table: &Table, limits: RateLimitConfig, clock: SharedClock) -> Self {
        let gate = Arc::new(Gate::new("rate_limit", table));
        let cell = DynamoDbStateCell::new(table, &gate.metrics, &clock);
        Self {
            table: table.clone(),
            gate,
            inner: CellRateLimitStore::new(Arc::new(cell), limits, Arc::clone(&clock)),
            clock,
        }
    }
}

impl Gated for DynamoDbRateLimitStore {
    fn gate(&self) -> &Gate {
        &self.gate
    }
}

#[async_trait]
impl RateLimitStore for DynamoDbRateLimitStore {
    async fn try_acquire(&self, resource: &str) -> StoreResult<Decision> {
        self.gate
            .run_on("try_acquire", resource, self.inner.try_acquire(resource))
            .await
    }

    async fn can_proceed(&self, resource: &str) -> StoreResult<bool> {
        self.gate
            .run_on("can_proceed", resource, self.inner.can_proceed(resource))
            .await
    }

    async fn record(&self, resource: &str) -> StoreResult<()> {
        self.gate
            .run_on("record", resource, self.inner.record(resource))
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

    async fn wait_time(&self, resource: &str) -> StoreResult<Duration> {
        self.gate
            .run_on("wait_time", resource, self.inner.wait_time(resource))
            .await
    }

    async fn cooldown(&self, resource: &str, until: Timestamp) -> StoreResult<()> {
        self.gate
            .run_on("cooldown", resource, self.inner.cooldown(resource, until))
            .await
    }
}

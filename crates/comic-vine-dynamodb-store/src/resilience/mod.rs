//! The one gate every store operation goes through: closed check, circuit breaker,
//! per-operation timeout, a tracing span, and the store's counters. Retries with
//! backoff and jitter happen below it, in the SDK client (see `DynamoDbConfig::client`),
//! with a retry quota of the table handle's own (see `retry`).

mod breaker;
mod retry;

mod controls;
mod health;

pub(crate) use controls::Gated;
pub(crate) use retry::retry_partition;

pub use breaker::{CircuitState, CircuitStatus};
pub use controls::StoreControls;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use comic_vine_store::{StoreError, StoreResult};
use tracing::Instrument;

use crate::handle::Table;
use crate::metrics::{Metrics, MetricsSnapshot};
use breaker::Breaker;

/// Runs a store's operations; one per store instance (public only so that the sealed
/// [`Gated`] can name it: no other crate can reach it).
#[derive(Debug)]
pub struct Gate {
    store: &'static str,
    table: Table,
    timeout: Duration,
    closed: AtomicBool,
    breaker: Breaker,
    pub(crate) metrics: Arc<Metrics>,
}

impl Gate {
    /// The gate of store `store` (e.g. `cache`) on `table`, configured from its
    /// configuration (timeout, breaker, clock).
    pub(crate) fn new(store: &'static str, table: &Table) -> Self {
        let config = table.config();
        Self {
            store,
            table: table.clone(),
            timeout: config.operation_timeout(),
            closed: AtomicBool::new(false),
            breaker: Breaker::new(config.circuit_breaker().clone(), Arc::clone(config.clock())),
            metrics: Arc::new(Metrics::for_store(store)),
        }
    }

    /// Runs operation `op` of this store: fails at once with [`StoreError::Closed`]
    /// after [`close`](Self::close) and with [`StoreError::CircuitBreakerOpen`] while the
    /// breaker is open (no request is sent), with [`StoreError::OperationTimeout`] when
    /// it takes longer than the timeout; counts it and tells the breaker how it went.
    pub(crate) async fn run<T>(
        &self,
        op: &'static str,
        work: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        if let Err(open) = self.breaker.admit() {
            self.metrics.error(op, open.kind());
            return Err(open);
        }
        let started = std::time::Instant::now();
        let span = tracing::debug_span!(
            "store_op",
            store = self.store,
            op,
            table = self.table.name()
        );
        let result = match tokio::time::timeout(self.timeout, work.instrument(span.clone())).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::OperationTimeout {
                operation: format!("{}.{op}", self.store),
                timeout: self.timeout,
            }),
        };
        self.metrics.operation(op, started.elapsed());
        if let Some(to) = self.breaker.record(&result) {
            self.metrics.circuit_transition(to);
        }
        if let Err(e) = &result {
            self.metrics.error(op, e.kind());
            span.in_scope(|| tracing::debug!(error = %e, "store operation failed"));
        }
        result
    }

    /// [`run`](Self::run) for an operation on `resource`, checked first (a bad name is
    /// refused before anything is sent or counted).
    pub(crate) async fn run_on<T>(
        &self,
        op: &'static str,
        resource: &str,
        work: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        comic_vine_store::validate::resource(resource)?;
        self.run(op, work).await
    }

    /// Refuses every later operation.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// The breaker's state.
    pub(crate) fn circuit_status(&self) -> CircuitStatus {
        self.breaker.status()
    }

    /// Closes the breaker.
    pub(crate) fn reset_circuit(&self) {
        self.breaker.reset();
    }

    /// The store's counters now.
    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }
}

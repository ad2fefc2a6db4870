//! The one gate every store operation goes through: closed check, circuit breaker,
//! per-operation timeout, a tracing span, and the store's counters. Retries with
//! backoff and jitter happen below it, in the SDK client (see `DynamoDbConfig::client`),
//! with a retry quota of the table handle's own (see `retry`).

mod breaker;
mod retry;

pub(crate) use retry::retry_partition;

/// The control methods every store offers over its [`Gate`]: `metrics`,
/// `circuit_status`, `reset_circuit`, `close` and `health_check`. The arguments are the
/// paths to the store's `Arc<Gate>` and [`Table`] fields (e.g. `jobs.gate`).
macro_rules! gate_controls {
    ($($gate:ident).+, $($table:ident).+) => {
        /// Whether the table answers, and how fast (a probe read through this store's
        /// breaker and timeout). A failed probe is reported as unhealthy, with the
        /// error in `detail`; this never returns `Err` (the signature matches
        /// [`CacheStore::health_check`](comic_vine_store::CacheStore::health_check)).
        pub async fn health_check(&self) -> comic_vine_store::StoreResult<comic_vine_store::HealthStatus> {
            Ok($crate::resilience::health_check(&self.$($gate).+, &self.$($table).+).await)
        }

        /// Counters of this store's DynamoDB traffic.
        pub fn metrics(&self) -> $crate::MetricsSnapshot {
            self.$($gate).+.snapshot()
        }

        /// The circuit breaker's state (see [`CircuitStatus`]($crate::CircuitStatus)).
        pub fn circuit_status(&self) -> $crate::CircuitStatus {
            self.$($gate).+.circuit_status()
        }

        /// Closes the circuit breaker and forgets its failures.
        pub fn reset_circuit(&self) {
            self.$($gate).+.reset_circuit();
        }

        /// Refuses every later operation with
        /// [`StoreError::Closed`](comic_vine_store::StoreError::Closed).
        pub fn close(&self) {
            self.$($gate).+.close();
        }
    };
}
pub(crate) use gate_controls;

/// Probes `table` with one GetItem of a key no store writes, through `gate`.
pub(crate) async fn health_check(gate: &Gate, table: &Table) -> comic_vine_store::HealthStatus {
    use aws_sdk_dynamodb::types::ReturnConsumedCapacity;

    use crate::item;
    use crate::metrics::Access;

    let started = std::time::Instant::now();
    let probe = gate
        .run("health_check", async {
            let out = table
                .client()
                .get_item()
                .table_name(table.name())
                .set_key(Some(item::key(("HEALTH".to_owned(), "CHECK".to_owned()))))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| table.error("GetItem", e))?;
            gate.metrics.request(Access::Read, out.consumed_capacity());
            Ok(())
        })
        .await;
    let latency = started.elapsed();
    let (healthy, detail) = match probe {
        Ok(()) => (true, format!("table `{}` answered", table.name())),
        Err(e) => (false, e.to_string()),
    };
    comic_vine_store::HealthStatus {
        healthy,
        latency,
        detail,
    }
}

pub use breaker::{CircuitState, CircuitStatus};

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use comic_vine_store::{StoreError, StoreResult};
use tracing::Instrument;

use crate::handle::Table;
use crate::metrics::{Metrics, MetricsSnapshot};
use breaker::Breaker;

/// Runs a store's operations; one per store instance.
#[derive(Debug)]
pub(crate) struct Gate {
    store: &'static str,
    table: String,
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
            table: table.name().to_owned(),
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
        let span = tracing::debug_span!("store_op", store = self.store, op, table = %self.table);
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

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }
}

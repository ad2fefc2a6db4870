//! The one gate every store operation goes through: closed check, per-operation
//! timeout, a tracing span, and the store's counters.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use comic_vine_store::{StoreError, StoreResult};
use tracing::Instrument;

use crate::metrics::{Metrics, MetricsSnapshot};

/// Runs a store's operations; one per store instance.
#[derive(Debug)]
pub(crate) struct Gate {
    store: &'static str,
    table: String,
    timeout: Duration,
    closed: AtomicBool,
    pub(crate) metrics: Arc<Metrics>,
}

impl Gate {
    pub(crate) fn new(store: &'static str, table: &str, timeout: Duration) -> Self {
        Self {
            store,
            table: table.to_owned(),
            timeout,
            closed: AtomicBool::new(false),
            metrics: Arc::default(),
        }
    }

    /// Runs operation `op` of this store: fails at once with [`StoreError::Closed`]
    /// after [`close`](Self::close), with [`StoreError::OperationTimeout`] when it
    /// takes longer than the timeout, and counts it.
    pub(crate) async fn run<T>(
        &self,
        op: &'static str,
        work: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        self.metrics.operation();
        let span = tracing::debug_span!("store_op", store = self.store, op, table = %self.table);
        let result = match tokio::time::timeout(self.timeout, work.instrument(span.clone())).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::OperationTimeout {
                operation: format!("{}.{op}", self.store),
                timeout: self.timeout,
            }),
        };
        if let Err(e) = &result {
            self.metrics.error(e.kind());
            span.in_scope(|| tracing::debug!(error = %e, "store operation failed"));
        }
        result
    }

    /// Refuses every later operation.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }
}

//! The buffer behind a [`BatchWriter`](super::BatchWriter): its state, and flushing it
//! batch by batch through the [`BatchWrite`], retrying what is left unprocessed.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use comic_vine_store::StoreError;
use futures_util::FutureExt;
use tokio::time::MissedTickBehavior;

use super::{BatchWrite, BatchWriterConfig, FailedBatch, FlushReport, WriteOp, plan_batches};
use crate::metrics::Metrics;

/// A writer's shared part (also held, weakly, by its background flusher).
pub(super) struct Inner {
    pub(super) write: Arc<dyn BatchWrite>,
    /// What the writer writes to, for logs: the table's name, or `custom`.
    pub(super) target: String,
    pub(super) config: BatchWriterConfig,
    state: Mutex<State>,
    /// Held while a flush sends, so that flushes (and writes to one key) stay in order.
    sending: tokio::sync::Mutex<()>,
    pub(super) metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("target", &self.target)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) buffer: Vec<WriteOp>,
    pub(super) closed: bool,
    /// Outcomes of flushes not yet handed to a caller.
    pub(super) unreported: FlushReport,
}

impl Inner {
    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes everything buffered and records the outcome for the next report.
    pub(super) async fn flush_buffer(&self) {
        let _sending = self.sending.lock().await;
        let ops = std::mem::take(&mut self.state().buffer);
        if ops.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let mut report = FlushReport::default();
        for batch in plan_batches(ops, self.config.batch_size) {
            let (written, failure) = self.write_one(batch).await;
            report.written += written;
            if let Some((ops, error)) = failure {
                self.metrics.error("flush", error.kind());
                tracing::warn!(
                    target = %self.target,
                    writes = ops.len(),
                    %error,
                    "batch writer gave up on a batch"
                );
                report.failed.push(FailedBatch { ops, error });
            }
        }
        self.metrics.operation("flush", started.elapsed());
        self.state().unreported.merge(report);
    }

    /// Hands `batch` to the [`BatchWrite`], then again what it leaves unprocessed after
    /// a backoff, for at most `max_attempts` calls; returns how many were written and
    /// what is left undone, with why.
    async fn write_one(&self, batch: Vec<WriteOp>) -> (usize, Option<(Vec<WriteOp>, StoreError)>) {
        let total = batch.len();
        let sent = self
            .config
            .backoff
            .retry("the batch write", batch, |pending| {
                std::panic::AssertUnwindSafe(self.write.write_batch(pending))
                    .catch_unwind()
                    .map(|called| {
                        called.unwrap_or_else(|_| {
                            Err(StoreError::Backend {
                                message: "the batch write function panicked".to_owned(),
                                source: None,
                            })
                        })
                    })
            });
        match sent.await {
            Ok(()) => (total, None),
            Err((left, error)) => (total - left.len(), Some((left, error))),
        }
    }

    pub(super) fn take_report(&self) -> FlushReport {
        std::mem::take(&mut self.state().unreported)
    }
}

/// Flushes `inner` every `every` until the writer is closed or gone.
pub(super) async fn flush_periodically(inner: Weak<Inner>, every: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if inner.state().closed {
            return;
        }
        inner.flush_buffer().await;
    }
}

impl Inner {
    pub(super) fn new(
        write: Arc<dyn BatchWrite>,
        target: String,
        config: BatchWriterConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            write,
            target,
            config,
            state: Mutex::default(),
            sending: tokio::sync::Mutex::new(()),
            metrics,
        }
    }
}

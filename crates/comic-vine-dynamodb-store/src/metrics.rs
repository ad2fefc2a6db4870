//! Counters of a store's DynamoDB traffic: readable without any exporter through
//! `metrics()`, and emitted through the [`metrics`] facade for whichever exporter the
//! application installs (Prometheus, CloudWatch's embedded metric format, …).
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `comic_vine_store_operations_total` | counter | `store`, `op` |
//! | `comic_vine_store_operation_seconds` | histogram | `store`, `op` |
//! | `comic_vine_store_errors_total` | counter | `store`, `op`, `kind` |
//! | `comic_vine_store_requests_total` | counter | `store` |
//! | `comic_vine_store_read_units_total`, `…_write_units_total` | counter (units × 1000) | `store` |
//! | `comic_vine_store_circuit_transitions_total` | counter | `store`, `to` |
//! | `comic_vine_store_cache_expired_removed_total`, `…_orphan_chunks_removed_total` | counter | `store` |

use std::collections::BTreeMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::ConsumedCapacity;
use serde::Serialize;

/// A snapshot of one store's counters since it was created.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MetricsSnapshot {
    /// Store operations started (e.g. one `get`).
    pub operations: u64,
    /// DynamoDB requests sent (one operation may send several, or none).
    pub requests: u64,
    /// Read capacity units DynamoDB reported as consumed.
    pub read_units: f64,
    /// Write capacity units DynamoDB reported as consumed.
    pub write_units: f64,
    /// Failed operations by error kind (see `StoreError::kind`).
    pub errors: BTreeMap<String, u64>,
    /// Expired cache entries removed by `cleanup` (called, or periodic).
    pub expired_removed: u64,
    /// Orphaned cache chunks (of no entry) removed by `cleanup` or `clear`.
    pub orphan_chunks_removed: u64,
}

/// The live counters behind [`MetricsSnapshot`], for one store.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    store: &'static str,
    counts: Mutex<MetricsSnapshot>,
}

/// Whether a request read or wrote, for capacity reports that give only a total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

impl Metrics {
    /// Counters labelled `store` (e.g. `cache`) in the facade.
    pub(crate) fn for_store(store: &'static str) -> Self {
        Self {
            store,
            counts: Mutex::default(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut MetricsSnapshot) -> T) -> T {
        f(&mut self.counts.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Counts a finished operation and how long it took.
    pub(crate) fn operation(&self, op: &'static str, elapsed: std::time::Duration) {
        self.with(|m| m.operations += 1);
        let labels = [("store", self.store), ("op", op)];
        metrics::counter!("comic_vine_store_operations_total", &labels).increment(1);
        metrics::histogram!("comic_vine_store_operation_seconds", &labels)
            .record(elapsed.as_secs_f64());
    }

    /// Counts a failed operation by its error kind.
    pub(crate) fn error(&self, op: &'static str, kind: &'static str) {
        self.with(|m| *m.errors.entry(kind.to_owned()).or_default() += 1);
        metrics::counter!("comic_vine_store_errors_total", "store" => self.store, "op" => op, "kind" => kind)
            .increment(1);
    }

    /// Counts a circuit-breaker transition.
    pub(crate) fn circuit_transition(&self, to: &'static str) {
        metrics::counter!("comic_vine_store_circuit_transitions_total", "store" => self.store, "to" => to)
            .increment(1);
    }

    /// Counts one request and the capacity it reports.
    pub(crate) fn request<'a>(
        &self,
        access: Access,
        capacity: impl IntoIterator<Item = &'a ConsumedCapacity>,
    ) {
        let (mut read, mut write) = (0.0, 0.0);
        for c in capacity {
            match (c.read_capacity_units(), c.write_capacity_units()) {
                (None, None) => match access {
                    Access::Read => read += c.capacity_units().unwrap_or(0.0),
                    Access::Write => write += c.capacity_units().unwrap_or(0.0),
                },
                (r, w) => {
                    read += r.unwrap_or(0.0);
                    write += w.unwrap_or(0.0);
                }
            }
        }
        self.with(|m| {
            m.requests += 1;
            m.read_units += read;
            m.write_units += write;
        });
        let store = [("store", self.store)];
        metrics::counter!("comic_vine_store_requests_total", &store).increment(1);
        // Counters are integers: units in thousandths.
        metrics::counter!("comic_vine_store_read_units_total", &store)
            .increment((read * 1000.0) as u64);
        metrics::counter!("comic_vine_store_write_units_total", &store)
            .increment((write * 1000.0) as u64);
    }

    /// Counts what a cache `cleanup` or `clear` removed.
    pub(crate) fn removed(&self, expired: u64, orphan_chunks: u64) {
        self.with(|m| {
            m.expired_removed += expired;
            m.orphan_chunks_removed += orphan_chunks;
        });
        let store = [("store", self.store)];
        metrics::counter!("comic_vine_store_cache_expired_removed_total", &store)
            .increment(expired);
        metrics::counter!("comic_vine_store_cache_orphan_chunks_removed_total", &store)
            .increment(orphan_chunks);
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        self.with(|m| m.clone())
    }
}

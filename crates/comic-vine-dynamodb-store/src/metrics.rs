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
//! | `comic_vine_store_read_units_total`, `…_write_units_total` | counter (units × 1000, as reported) | `store` |
//! | `comic_vine_store_billed_read_units_total`, `…_billed_write_units_total` | counter (units × 1000, as billed) | `store` |
//!
//! *Reported* units are what DynamoDB returns in `ConsumedCapacity`; *billed* units are
//! what on-demand pricing charges. They would differ for transactions (DynamoDB bills a
//! `TransactWriteItems` two units per started KB of each item, DynamoDB Local reports two
//! per KB of their total), but no store sends one: every request is billed as reported.
//! Both are kept so a bill can be read beside the bench (see docs/design.md, "Cost of a
//! miss").
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
    /// Read request units as billed (`read_units`: no store sends a transaction).
    pub billed_read_units: f64,
    /// Write request units as billed: `write_units`, plus for each refused conditional
    /// write (which DynamoDB reports as nothing) the refusing item's size in KB, at
    /// least 1.
    pub billed_write_units: f64,
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

    /// Counts one request and the capacity it reports, billed as reported.
    pub(crate) fn request<'a>(
        &self,
        access: Access,
        capacity: impl IntoIterator<Item = &'a ConsumedCapacity>,
    ) {
        let (read, write) = reported(access, capacity);
        self.record(read, write);
    }

    /// Counts one refused conditional write: DynamoDB reports no units for it but
    /// bills the write at the size of the item that refused it (at least 1 unit, also
    /// when the item is not known).
    pub(crate) fn refused_write(&self, held: Option<&crate::item::Item>) {
        let kb = held.map_or(0, crate::item::billed_size).div_ceil(1024);
        self.record_billed((0.0, 0.0), (0.0, kb.max(1) as f64));
    }

    fn record(&self, read: f64, write: f64) {
        self.record_billed((read, write), (read, write));
    }

    fn record_billed(&self, (read, write): (f64, f64), (billed_read, billed_write): (f64, f64)) {
        self.with(|m| {
            m.requests += 1;
            m.read_units += read;
            m.write_units += write;
            m.billed_read_units += billed_read;
            m.billed_write_units += billed_write;
        });
        let store = [("store", self.store)];
        metrics::counter!("comic_vine_store_requests_total", &store).increment(1);
        // Counters are integers: units in thousandths.
        for (name, units) in [
            ("comic_vine_store_read_units_total", read),
            ("comic_vine_store_write_units_total", write),
            ("comic_vine_store_billed_read_units_total", billed_read),
            ("comic_vine_store_billed_write_units_total", billed_write),
        ] {
            metrics::counter!(name, &store).increment((units * 1000.0) as u64);
        }
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

/// Units a response reports: split by kind when reported so, else the total counted as
/// the request's kind (DynamoDB Local reports only the total).
fn reported<'a>(
    access: Access,
    capacity: impl IntoIterator<Item = &'a ConsumedCapacity>,
) -> (f64, f64) {
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
    (read, write)
}

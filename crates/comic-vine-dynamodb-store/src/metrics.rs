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
//! what on-demand pricing charges. They differ for transactions: DynamoDB bills a
//! `TransactWriteItems` two write units per started KB **of each item**, while DynamoDB
//! Local reports two per started KB of the items' total (measured: a 1 KB entry and its
//! job item are reported as 2 units, billed 4). So a transaction's billed write units are
//! computed from the sizes of the items it writes ([`item_size`]), and never fewer than
//! reported; plain requests are billed as reported.
//! | `comic_vine_store_circuit_transitions_total` | counter | `store`, `to` |
//! | `comic_vine_store_cache_expired_removed_total`, `…_orphan_chunks_removed_total` | counter | `store` |

use std::collections::BTreeMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity};
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
    /// Read request units as billed (no store reads in a transaction: `read_units`).
    pub billed_read_units: f64,
    /// Write request units as billed: `write_units`, with each transaction at two units
    /// per started KB of each item it writes (see the module docs).
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

/// An item's size as DynamoDB bills it: each attribute's name plus its value (strings
/// and binaries by length, numbers about one byte per two digits plus one, containers
/// three bytes plus their elements).
pub(crate) fn item_size<'a>(
    attributes: impl IntoIterator<Item = (&'a str, &'a AttributeValue)>,
) -> usize {
    attributes
        .into_iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    let number = |n: &str| n.trim_start_matches('-').len().div_ceil(2) + 1;
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, x)| 1 + k.len() + value_size(x))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// Write units DynamoDB bills for a `TransactWriteItems` of items of `sizes` bytes:
/// two per started KB of each item.
pub(crate) fn transactional_write_units(sizes: &[usize]) -> f64 {
    sizes
        .iter()
        .map(|s| 2.0 * s.div_ceil(1024).max(1) as f64)
        .sum()
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
        self.record(read, write, write);
    }

    /// Counts one `TransactWriteItems` that wrote items of `item_sizes` bytes: billed at
    /// two units per started KB of each, or what it reports if that is more.
    pub(crate) fn transaction<'a>(
        &self,
        capacity: impl IntoIterator<Item = &'a ConsumedCapacity>,
        item_sizes: &[usize],
    ) {
        let (read, write) = reported(Access::Write, capacity);
        self.record(
            read,
            write,
            write.max(transactional_write_units(item_sizes)),
        );
    }

    fn record(&self, read: f64, write: f64, billed_write: f64) {
        let billed_read = read;
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

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::primitives::Blob;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn item_sizes_follow_dynamodbs_rules() {
        let s = AttributeValue::S("abc".into());
        let n = AttributeValue::N("12345".into());
        let b = AttributeValue::B(Blob::new(vec![0; 10]));
        assert_eq!(
            item_size([("PK", &s), ("N", &n), ("V", &b)]),
            2 + 3 + 1 + 4 + 1 + 10
        );
        assert_eq!(transactional_write_units(&[1024, 1025, 1]), 2.0 + 4.0 + 2.0);
    }

    proptest! {
        /// Two units per started KB of each item: at least two per item, and never less
        /// than twice the plain units of the items' total.
        #[test]
        fn transactions_bill_two_units_per_started_kb_of_each_item(
            sizes in proptest::collection::vec(1usize..400_000, 1..25),
        ) {
            let billed = transactional_write_units(&sizes);
            let total_kb = sizes.iter().sum::<usize>().div_ceil(1024) as f64;
            prop_assert!(billed >= 2.0 * sizes.len() as f64);
            prop_assert!(billed >= 2.0 * total_kb);
            prop_assert!(billed <= 2.0 * (total_kb + sizes.len() as f64));
        }

        #[test]
        fn a_transaction_is_never_billed_below_what_it_reports(
            reported in 0.0..100.0f64, size in 1usize..100_000,
        ) {
            let m = Metrics::for_store("test");
            let capacity = ConsumedCapacity::builder().capacity_units(reported).build();
            m.transaction([&capacity], &[size]);
            let s = m.snapshot();
            prop_assert_eq!(s.write_units, reported);
            prop_assert!(s.billed_write_units >= reported);
            prop_assert!(s.billed_write_units >= transactional_write_units(&[size]));
        }
    }
}

//! Counters of a store's DynamoDB traffic, readable without any exporter.

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
}

/// The live counters behind [`MetricsSnapshot`].
#[derive(Debug, Default)]
pub(crate) struct Metrics(Mutex<MetricsSnapshot>);

/// Whether a request read or wrote, for capacity reports that give only a total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut MetricsSnapshot) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn operation(&self) {
        self.with(|m| m.operations += 1);
    }

    pub(crate) fn error(&self, kind: &str) {
        self.with(|m| *m.errors.entry(kind.to_owned()).or_default() += 1);
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
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        self.with(|m| m.clone())
    }
}

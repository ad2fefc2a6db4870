//! Costs of DynamoDB calls, for the stores and for the raw baselines alike.

use std::sync::Mutex;

use comic_vine_dynamodb_store::MetricsSnapshot;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::ConsumedCapacity;
use derive_more::{Add, Sub};
use serde::Serialize;

/// Requests and consumed units; `+` and `-` work field by field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Add, Sub)]
pub struct Cost {
    /// DynamoDB requests.
    pub requests: u64,
    /// Consumed read units.
    pub read_units: f64,
    /// Consumed write units.
    pub write_units: f64,
    /// Read request units as billed (as reported: no store sends a transaction).
    pub billed_read_units: f64,
    /// Write request units as billed (as reported, plus refused conditional writes).
    pub billed_write_units: f64,
}

impl From<&MetricsSnapshot> for Cost {
    fn from(m: &MetricsSnapshot) -> Self {
        Cost {
            requests: m.requests,
            read_units: m.read_units,
            write_units: m.write_units,
            billed_read_units: m.billed_read_units,
            billed_write_units: m.billed_write_units,
        }
    }
}

/// Accumulates the cost of raw SDK calls.
#[derive(Debug, Default)]
pub struct Meter(Mutex<Cost>);

impl Meter {
    /// Counts one read request and what it reports as consumed.
    pub fn read(&self, capacity: Option<&ConsumedCapacity>) {
        self.add(capacity, false);
    }

    /// Counts one write request and what it reports as consumed.
    pub fn write(&self, capacity: Option<&ConsumedCapacity>) {
        self.add(capacity, true);
    }

    /// Units split by kind when reported so, else the total counted as the request's kind
    /// (DynamoDB Local reports only the total). Raw calls are never transactional: billed
    /// as reported.
    fn add(&self, capacity: Option<&ConsumedCapacity>, write: bool) {
        let mut c = self.0.lock().unwrap_or_else(|p| p.into_inner());
        c.requests += 1;
        let Some(cap) = capacity else { return };
        let (read, written) = match (cap.read_capacity_units(), cap.write_capacity_units()) {
            (None, None) if write => (0.0, cap.capacity_units().unwrap_or(0.0)),
            (None, None) => (cap.capacity_units().unwrap_or(0.0), 0.0),
            (r, w) => (r.unwrap_or(0.0), w.unwrap_or(0.0)),
        };
        c.read_units += read;
        c.write_units += written;
        c.billed_read_units += read;
        c.billed_write_units += written;
    }

    /// The cost so far.
    pub fn total(&self) -> Cost {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

//! `cvstore bench`: our stores against the raw DynamoDB calls they need, side by side
//! in one run on one table, at several concurrencies.
//!
//! Each measurement runs one operation from `concurrency` tasks for a slice of time;
//! operations and their baselines are interleaved in rounds so that a noisy machine
//! slows both alike. Costs (requests, consumed read/write units) come from the
//! `ConsumedCapacity` DynamoDB reports: the stores' own metrics, or a meter on the raw
//! calls.

mod cache;
pub mod cost;
mod dedupe;
mod meter;
pub mod miss_path;
mod rate_limit;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use comic_vine_dynamodb_store::Table;
use futures_util::future::BoxFuture;
use serde::Serialize;

pub use meter::Cost;

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Time per operation and concurrency, split over the rounds.
    pub duration: Duration,
    /// Concurrencies to measure (default 1 and 32).
    pub concurrency: Vec<usize>,
    /// Rounds the measurements are interleaved in.
    pub rounds: u32,
    /// JSON size of the response the miss-path and 20 KB hit rows use.
    pub response_bytes: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(3),
            concurrency: vec![1, 32],
            rounds: 3,
            response_bytes: 20 * 1024,
        }
    }
}

/// One measured operation at one concurrency.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The operation, e.g. `cache get (hit)`.
    pub operation: String,
    /// Tasks running it at once.
    pub concurrency: usize,
    /// Completed operations per second.
    pub ops_per_sec: f64,
    /// The raw call this operation is compared with.
    pub baseline: Option<String>,
    /// `ops_per_sec` divided by the baseline's.
    pub ratio_to_baseline: Option<f64>,
    /// DynamoDB requests per operation.
    pub requests_per_op: f64,
    /// Consumed read units per operation.
    pub read_units_per_op: f64,
    /// Consumed write units per operation.
    pub write_units_per_op: f64,
    /// Read request units per operation as billed (as reported: no store sends a transaction).
    pub billed_read_units_per_op: f64,
    /// Write request units per operation as billed (as reported: no store sends a
    /// transaction).
    pub billed_write_units_per_op: f64,
}

/// One benchmarked operation.
pub(crate) struct Workload {
    pub(crate) name: String,
    pub(crate) baseline: Option<&'static str>,
    /// Runs the operation once; the argument numbers calls (for choosing keys).
    pub(crate) op: Arc<dyn Fn(u64) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>,
    /// The cost counters the operation adds to.
    pub(crate) cost: Arc<dyn Fn() -> Cost + Send + Sync>,
}

#[derive(Default, Clone, Copy)]
struct Tally {
    ops: u64,
    elapsed: Duration,
    cost: Cost,
}

/// Runs every workload's bench on `table` and returns one row per workload and
/// concurrency.
pub async fn run(table: &Table, options: &BenchOptions) -> anyhow::Result<Vec<Row>> {
    let mut workloads = cache::workloads(table)
        .await
        .context("preparing the cache bench")?;
    workloads.extend(dedupe::workloads(table));
    workloads.extend(
        rate_limit::workloads(table)
            .await
            .context("preparing the rate-limit bench")?,
    );
    workloads.extend(
        miss_path::workloads(table, options.response_bytes)
            .await
            .context("preparing the miss-path bench")?,
    );
    let slice = options.duration / options.rounds.max(1);
    let mut rows = Vec::new();
    for &concurrency in &options.concurrency {
        let mut tallies = vec![Tally::default(); workloads.len()];
        for _ in 0..options.rounds.max(1) {
            for (w, tally) in workloads.iter().zip(&mut tallies) {
                let before = (w.cost)();
                let (ops, elapsed) = measure(w, concurrency, slice).await?;
                let spent = (w.cost)().minus(before);
                tally.ops += ops;
                tally.elapsed += elapsed;
                tally.cost = tally.cost.plus(spent);
            }
        }
        let rate = |t: &Tally| t.ops as f64 / t.elapsed.as_secs_f64().max(1e-9);
        for (w, t) in workloads.iter().zip(&tallies) {
            let base = w
                .baseline
                .and_then(|b| workloads.iter().position(|x| x.name == b))
                .map(|i| rate(&tallies[i]));
            let per_op = |x: f64| x / t.ops.max(1) as f64;
            rows.push(Row {
                operation: w.name.clone(),
                concurrency,
                ops_per_sec: rate(t),
                baseline: w.baseline.map(str::to_owned),
                ratio_to_baseline: base.map(|b| rate(t) / b),
                requests_per_op: per_op(t.cost.requests as f64),
                read_units_per_op: per_op(t.cost.read_units),
                write_units_per_op: per_op(t.cost.write_units),
                billed_read_units_per_op: per_op(t.cost.billed_read_units),
                billed_write_units_per_op: per_op(t.cost.billed_write_units),
            });
        }
    }
    Ok(rows)
}

/// Runs `w` from `concurrency` tasks for `duration`; returns operations and time taken.
async fn measure(
    w: &Workload,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<(u64, Duration)> {
    let started = Instant::now();
    let deadline = started + duration;
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (op, counter) = (Arc::clone(&w.op), Arc::clone(&counter));
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                op(n).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await.context("a bench task panicked")??;
    }
    Ok((counter.load(Ordering::Relaxed), started.elapsed()))
}

/// Renders rows as an aligned text table: units as reported, then as billed.
pub fn render(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<35} {:>4} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
        "operation", "conc", "ops/s", "vs raw", "req/op", "RCU/op", "WCU/op", "RRU$/op", "WRU$/op"
    );
    for r in rows {
        let ratio = r
            .ratio_to_baseline
            .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}x"));
        out.push_str(&format!(
            "{:<35} {:>4} {:>10.0} {:>9} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}\n",
            r.operation,
            r.concurrency,
            r.ops_per_sec,
            ratio,
            r.requests_per_op,
            r.read_units_per_op,
            r.write_units_per_op,
            r.billed_read_units_per_op,
            r.billed_write_units_per_op
        ));
    }
    out
}

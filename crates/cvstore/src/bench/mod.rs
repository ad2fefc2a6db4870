//! `cvstore bench`: our stores against the raw DynamoDB calls they need, side by side
//! in one run on one table, at several concurrencies.
//!
//! Each measurement runs one operation from `concurrency` tasks for a slice of time,
//! timing every call. In every round an operation and its baseline run interleaved in
//! one slice (each task alternates between them, see [`sample`]), and the row's ratio
//! is the baseline's mean call time over the operation's, the median over the rounds
//! (with their range): a noisy machine slows both alike, and neither one disturbed
//! call nor one disturbed slice moves the figure. Costs (requests, consumed read/write
//! units) come from the `ConsumedCapacity` DynamoDB reports: the stores' own metrics,
//! or a meter on the raw calls.

mod cache;
pub mod cost;
mod dedupe;
mod meter;
pub mod miss_path;
mod rate_limit;
mod raw_value;
mod sample;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use comic_vine_dynamodb_store::Table;
use futures_util::future::BoxFuture;
use serde::Serialize;

pub use meter::Cost;
use sample::Sample;

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
            rounds: 6,
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
    /// Operations per second: `concurrency` over the mean call time (what it does
    /// alone; interleaved with its baseline, each ran half the time).
    pub ops_per_sec: f64,
    /// The raw call this operation is compared with.
    pub baseline: Option<String>,
    /// The baseline's mean call time divided by this operation's, both measured
    /// interleaved in each round: the median over the rounds (above 1: faster).
    pub ratio_to_baseline: Option<f64>,
    /// The lowest of the rounds' ratios.
    pub ratio_low: Option<f64>,
    /// The highest of the rounds' ratios.
    pub ratio_high: Option<f64>,
    /// DynamoDB requests per operation.
    pub requests_per_op: f64,
    /// Consumed read units per operation.
    pub read_units_per_op: f64,
    /// Consumed write units per operation.
    pub write_units_per_op: f64,
    /// Read request units per operation as billed (as reported: no store sends a transaction).
    pub billed_read_units_per_op: f64,
    /// Write request units per operation as billed: as reported, plus what refused
    /// conditional writes are billed (DynamoDB reports them as nothing).
    pub billed_write_units_per_op: f64,
}

/// A workload's operation, run once per call; the argument numbers calls (for choosing
/// keys).
pub(crate) type Op = Arc<dyn Fn(u64) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// Reads the cost counters a workload's operation adds to.
pub(crate) type CostFn = Arc<dyn Fn() -> Cost + Send + Sync>;

/// `f` as an [`Op`]: the future of each call boxed.
pub(crate) fn op<F, Fut>(f: F) -> Op
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    Arc::new(move |n| Box::pin(f(n)))
}

/// `f` as a [`CostFn`].
pub(crate) fn cost_of(f: impl Fn() -> Cost + Send + Sync + 'static) -> CostFn {
    Arc::new(f)
}

/// One benchmarked operation.
pub(crate) struct Workload {
    pub(crate) name: String,
    pub(crate) baseline: Option<&'static str>,
    /// Runs the operation once.
    pub(crate) op: Op,
    /// The cost counters the operation adds to.
    pub(crate) cost: CostFn,
    /// It batches its concurrent calls (group commit), so above one caller it is
    /// measured in slices of its own, alternating with its baseline's, not interleaved
    /// call by call (at one caller there is nothing to batch: interleaved as any other).
    pub(crate) batched: bool,
}

impl Workload {
    /// A workload named `name`, compared with the workload named `baseline`, if any.
    pub(crate) fn new(
        name: impl Into<String>,
        baseline: Option<&'static str>,
        op: Op,
        cost: CostFn,
    ) -> Self {
        Self {
            name: name.into(),
            baseline,
            op,
            cost,
            batched: false,
        }
    }

    /// This workload, measured apart from its baseline (see [`Workload::batched`]).
    pub(crate) fn batched(self) -> Self {
        Self {
            batched: true,
            ..self
        }
    }
}

/// What a workload did over the rounds.
#[derive(Default, Clone, Copy)]
struct Tally {
    ops: u64,
    /// The sum of its call times.
    busy: Duration,
    cost: Cost,
}

impl Tally {
    fn add(&mut self, sample: &Sample) {
        self.ops += sample.latencies.len() as u64;
        self.busy += Duration::from_nanos(sample.latencies.iter().sum());
        self.cost = self.cost + sample.cost;
    }

    /// Calls per second from `concurrency` tasks at the measured call time (the rate it
    /// has alone; interleaved with its baseline, each ran half the time).
    fn rate(&self, concurrency: usize) -> f64 {
        concurrency as f64 * self.ops as f64 / self.busy.as_secs_f64().max(1e-9)
    }
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
    let rounds = options.rounds.max(1);
    let slice = options.duration / rounds;
    // Each workload's baseline (an index), and whether it is some workload's baseline
    // (then it is measured beside that workload, not on its own).
    let baselines: Vec<Option<usize>> = workloads
        .iter()
        .map(|w| {
            w.baseline
                .and_then(|b| workloads.iter().position(|x| x.name == b))
        })
        .collect();
    let is_baseline: Vec<bool> = (0..workloads.len())
        .map(|i| baselines.contains(&Some(i)))
        .collect();
    // What one round runs: each operation with its baseline, interleaved, or alone.
    let groups: Vec<Vec<usize>> = (0..workloads.len())
        .filter_map(|i| match baselines[i] {
            Some(b) => Some(vec![i, b]),
            None => (!is_baseline[i]).then(|| vec![i]),
        })
        .collect();
    let members: Vec<Vec<&Workload>> = groups
        .iter()
        .map(|group| group.iter().map(|&j| &workloads[j]).collect())
        .collect();
    let mut rows = Vec::new();
    for &concurrency in &options.concurrency {
        // One unmeasured slice each first: DynamoDB Local's JIT and the connection
        // pool warm up before anything is counted.
        for group in &members {
            sample::measure(group, 0, concurrency, slice).await?;
        }
        let mut tallies = vec![Tally::default(); workloads.len()];
        let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); workloads.len()];
        for round in 0..rounds {
            for (group, members) in groups.iter().zip(&members) {
                let samples = sample::measure(members, round, concurrency, slice).await?;
                for (&j, s) in group.iter().zip(&samples) {
                    tallies[j].add(s);
                }
                if let [op, baseline] = &samples[..] {
                    ratios[group[0]].push(baseline.mean() / op.mean().max(1.0));
                }
            }
        }
        for (i, (w, t)) in workloads.iter().zip(&tallies).enumerate() {
            let per_op = |x: f64| x / t.ops.max(1) as f64;
            let spread = Spread::of(&mut ratios[i]);
            rows.push(Row {
                operation: w.name.clone(),
                concurrency,
                ops_per_sec: t.rate(concurrency),
                baseline: w.baseline.map(str::to_owned),
                ratio_to_baseline: spread.map(|s| s.median),
                ratio_low: spread.map(|s| s.low),
                ratio_high: spread.map(|s| s.high),
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

/// The median and range of one row's per-round ratios.
#[derive(Clone, Copy)]
struct Spread {
    median: f64,
    low: f64,
    high: f64,
}

impl Spread {
    fn of(ratios: &mut [f64]) -> Option<Spread> {
        if ratios.is_empty() {
            return None;
        }
        ratios.sort_by(f64::total_cmp);
        let n = ratios.len();
        let median = if n % 2 == 1 {
            ratios[n / 2]
        } else {
            (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            low: ratios[0],
            high: ratios[n - 1],
        })
    }
}

/// Renders rows as an aligned text table: units as reported, then as billed; the ratio
/// to the raw call is the rounds' median, with their range.
pub fn render(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<35} {:>4} {:>10} {:>7} {:>11} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
        "operation",
        "conc",
        "ops/s",
        "vs raw",
        "range",
        "req/op",
        "RCU/op",
        "WCU/op",
        "RRU$/op",
        "WRU$/op"
    );
    for r in rows {
        let ratio = r
            .ratio_to_baseline
            .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}x"));
        let range = match (r.ratio_low, r.ratio_high) {
            (Some(low), Some(high)) => format!("{low:.2}-{high:.2}"),
            _ => "-".to_owned(),
        };
        out.push_str(&format!(
            "{:<35} {:>4} {:>10.0} {:>7} {:>11} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}\n",
            r.operation,
            r.concurrency,
            r.ops_per_sec,
            ratio,
            range,
            r.requests_per_op,
            r.read_units_per_op,
            r.write_units_per_op,
            r.billed_read_units_per_op,
            r.billed_write_units_per_op
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Spread;

    #[test]
    fn a_spread_is_the_median_and_the_range_of_the_rounds() {
        assert!(Spread::of(&mut []).is_none());
        let odd = Spread::of(&mut [1.2, 0.8, 1.0]).unwrap();
        assert_eq!((odd.median, odd.low, odd.high), (1.0, 0.8, 1.2));
        let even = Spread::of(&mut [0.9, 1.3, 0.7, 1.1]).unwrap();
        assert_eq!((even.low, even.high), (0.7, 1.3));
        assert!((even.median - 1.0).abs() < 1e-12, "{}", even.median);
    }
}

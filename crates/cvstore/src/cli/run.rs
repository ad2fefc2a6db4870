//! Arguments of the demo and the benchmark.

use std::time::Duration;

use clap::{Args, ValueEnum};

use super::values::{parse_duration, parse_table};

/// Options of `cvstore bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Time measured per operation and concurrency, e.g. `3s`.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Concurrencies to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,32")]
    pub concurrency: Vec<usize>,
    /// Rounds the measurements are split into; in each, an operation and its raw call
    /// run interleaved, and the ratio to the raw call is the median over the rounds of
    /// their mean call times' ratio (of their throughputs).
    #[arg(long, default_value_t = 6)]
    pub rounds: u32,
    /// Cost report: share of client requests the cache answers, 0 to 1.
    #[arg(long, default_value = "0.8", value_parser = parse_ratio)]
    pub hit_ratio: f64,
    /// Cost report: JSON size of a response (the miss-path and hit rows use it), e.g.
    /// `20KB` (KB = 1024 bytes), `4096`.
    #[arg(long, default_value = "20KB", value_parser = parse_size)]
    pub response_size: usize,
    /// Cost report: dollars per million write request units (on-demand us-east-1,
    /// prices as of 2024-11-01).
    #[arg(long, default_value = "0.625", value_parser = parse_price)]
    pub price_wru: f64,
    /// Cost report: dollars per million read request units (on-demand us-east-1,
    /// prices as of 2024-11-01).
    #[arg(long, default_value = "0.125", value_parser = parse_price)]
    pub price_rru: f64,
    #[command(flatten)]
    pub target: TargetTableArgs,
}

fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("{text:?} is not a ratio from 0 to 1, e.g. 0.8")),
    }
}

fn parse_price(text: &str) -> Result<f64, String> {
    match text.trim().trim_start_matches('$').parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
        _ => Err(format!("{text:?} is not a price in dollars, e.g. 0.625")),
    }
}

/// Parses `20KB`, `1MB` (powers of 1024) or a bare number of bytes, 1 B to 16 MB.
fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1024,
        "M" | "MB" | "MIB" => 1024 * 1024,
        _ => return Err(format!("unknown unit in {text:?}: use B, KB or MB")),
    };
    number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| (1..=16 * 1024 * 1024).contains(n))
        .ok_or_else(|| format!("{text:?} is not a size from 1 B to 16 MB, e.g. 20KB"))
}

/// Which table `bench` and `demo` write into. They ignore the global `--table`: by
/// default they create a table of their own (`cvstore-bench-…`, `cvstore-demo-…`) and
/// delete it afterwards.
#[derive(Clone, Debug, Args)]
pub struct TargetTableArgs {
    /// Write into this existing table (it must have the project's schema; it is neither
    /// created nor deleted) instead of a new table of the run's own.
    #[arg(long, value_name = "NAME", value_parser = parse_table)]
    pub into_table: Option<String>,
    /// Keep the table (or SQLite file) the run created (its name is printed) instead of
    /// deleting it.
    #[arg(long, conflicts_with = "into_table")]
    pub keep: bool,
}

/// Options of `cvstore demo`.
#[derive(Clone, Debug, Args)]
pub struct DemoArgs {
    /// Workers issuing requests at once.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Requests each worker issues.
    #[arg(long, default_value_t = 60)]
    pub requests: usize,
    /// The upstream's limit per resource and window.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// The upstream's window, e.g. `2s`, `500ms`, `1m`.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub window: Duration,
    /// Seed of the request mix (the same seed gives the same requests).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Run on a DynamoDB Local started for the demo (workers are OS processes). With the
    /// global `--endpoint` the demo runs on that DynamoDB instead, in a table of its own
    /// (see `--into-table`, `--keep`).
    #[arg(long)]
    pub dynamodb_local: bool,
    #[command(flatten)]
    pub target: TargetTableArgs,
    /// SQLite only: write into this existing comic-vine-store database (neither created
    /// nor deleted) instead of a new file of the run's own.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["into_table", "keep"])]
    pub into_file: Option<std::path::PathBuf>,
    /// Serve the dashboard over the demo's stores while it runs (127.0.0.1, read-only);
    /// its URL is printed on stderr at the start.
    #[arg(long)]
    pub dashboard: bool,
    /// The dashboard's port [default: a free port].
    #[arg(long, value_name = "PORT", requires = "dashboard")]
    pub dashboard_port: Option<u16>,
    /// Keep the dashboard up this long after the demo ends, e.g. `30s` [default: 0s]: in
    /// memory after the report is printed, on DynamoDB/SQLite before the run's table or
    /// file is deleted (and the report printed).
    #[arg(long, value_name = "DURATION", requires = "dashboard", value_parser = parse_duration)]
    pub dashboard_linger: Option<Duration>,
    /// Write a self-contained HTML report of the run to FILE: per resource the upstream
    /// calls in the stub's window over time against its limit, and the summary figures.
    #[arg(long, value_name = "FILE")]
    pub report: Option<std::path::PathBuf>,
    /// Run the "budget spent" phase instead of the request mix: a warm-up caches three
    /// quarters of the limit in keys per resource, fresh for half a window (at most 1 s);
    /// once they are stale, demand above the limit on them and on never-seen keys,
    /// waiting at most a twentieth of a window (at most 100 ms) for a slot.
    #[arg(long)]
    pub budget_spent: bool,
    /// With `--budget-spent`: serve stale entries while the budget is spent (`on`), not
    /// (`off`), or run the phase both ways and report them side by side (`both`).
    #[arg(long, value_enum, default_value = "both", requires = "budget_spent")]
    pub stale: StaleMode,
    /// The run id the worker processes share (set by the demo, not a flag; a random one
    /// when unset).
    #[arg(skip)]
    pub run_id: Option<String>,
}

/// Options of the hidden `cvstore demo-worker` (one worker process of the DynamoDB or
/// SQLite demo).
#[derive(Debug, Args)]
pub struct DemoWorkerArgs {
    /// The upstream API's base URL.
    #[arg(long)]
    pub upstream: String,
    /// The run this worker belongs to.
    #[arg(long)]
    pub run: String,
    /// This worker's number.
    #[arg(long)]
    pub worker: usize,
    /// Workers in the fleet.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Requests to issue.
    #[arg(long)]
    pub requests: usize,
    /// Seed of the request mix.
    #[arg(long)]
    pub seed: u64,
    /// The upstream's limit per resource and window.
    #[arg(long)]
    pub limit: u32,
    /// The upstream's window.
    #[arg(long, value_parser = parse_duration)]
    pub window: Duration,
    /// Which requests to issue, with which settings.
    #[arg(long, value_enum, default_value = "mix")]
    pub phase: Phase,
    /// Serve stale entries under the phase's stale policy.
    #[arg(long)]
    pub stale_on: bool,
}

/// `cvstore demo --stale`: which runs of the budget-spent phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StaleMode {
    /// Stale serving off.
    Off,
    /// Stale serving on.
    On,
    /// Both runs, side by side.
    Both,
}

/// The requests a demo worker issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Phase {
    /// The default demo's mix: popular requests repeat.
    Mix,
    /// The budget-spent phase's warm-up: each seen key once.
    WarmUp,
    /// The budget-spent phase: seen keys (stale by then) and never-seen ones.
    Budget,
}

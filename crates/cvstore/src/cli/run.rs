//! Arguments of the demo and the benchmark.

use std::time::Duration;

use clap::Args;

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
    /// Rounds the measurements are interleaved in.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    #[command(flatten)]
    pub target: TargetTableArgs,
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
#[derive(Debug, Args)]
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
}

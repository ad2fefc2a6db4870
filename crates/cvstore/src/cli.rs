//! Command-line syntax.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use comic_vine_dynamodb_store::DEFAULT_TABLE_NAME;

/// Exit status of `cvstore cache get` when the key has no live entry.
pub const EXIT_NOT_FOUND: u8 = 3;

/// DynamoDB-backed cache, dedupe and rate-limit stores for API clients: operate the
/// stores, run the demo and the benchmarks.
#[derive(Debug, Parser)]
#[command(
    name = "cvstore",
    version,
    about,
    long_about = None,
    after_help = "Exit status: 0 success, 1 failure (one line on stderr), 2 invalid usage, \
                  3 not found (`cache get` of a key without a live entry, `dedupe status` of a \
                  hash without a job)."
)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Where the stores live (used by `table`, `cache` and `health`).
    #[command(flatten)]
    pub store: StoreArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The global flags naming the DynamoDB table and how to reach it.
#[derive(Clone, Debug, Args)]
pub struct StoreArgs {
    /// DynamoDB endpoint URL, e.g. http://127.0.0.1:8000 for DynamoDB Local [default: AWS's
    /// endpoint for the region].
    #[arg(long, global = true, env = "CVSTORE_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,

    /// The DynamoDB table.
    #[arg(
        long,
        global = true,
        env = "CVSTORE_TABLE",
        value_name = "NAME",
        default_value = DEFAULT_TABLE_NAME
    )]
    pub table: String,

    /// AWS region [default: from the AWS configuration; us-east-1 for a loopback endpoint].
    #[arg(long, global = true, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,

    /// Time limit of each store operation, retries included, e.g. `5s` [default: 30s].
    #[arg(
        long,
        global = true,
        env = "CVSTORE_TIMEOUT",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub timeout: Option<Duration>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the request hash (the cache and dedupe key) of an endpoint and its
    /// parameters, as the TypeScript client computes it.
    Hash {
        /// The endpoint, e.g. `issues/list`.
        endpoint: String,
        /// The parameters as a JSON object, e.g. '{"limit":10}'.
        params: String,
    },
    /// Run the demo: a fleet of workers sharing one API budget through the stores
    /// (in memory; on DynamoDB with OS processes given `--endpoint` or `--dynamodb-local`).
    ///
    /// On DynamoDB it writes only into a table it creates (`cvstore-demo-<random>`, deleted
    /// afterwards unless `--keep`) or the existing table `--into-table` names; never into
    /// `--table`.
    Demo(DemoArgs),
    /// One worker process of the DynamoDB demo (started by `demo`).
    #[command(hide = true)]
    DemoWorker(DemoWorkerArgs),
    /// Create, verify or print the DynamoDB table.
    #[command(subcommand)]
    Table(TableCommand),
    /// Read and manage the response cache on the DynamoDB table.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Check that the table answers (the cache store's health check); exits with status 1
    /// when it does not.
    Health,
    /// Inspect request deduplication jobs.
    #[command(subcommand)]
    Dedupe(DedupeCommand),
    /// Use and manage the shared rate limits.
    #[command(subcommand)]
    Ratelimit(RateLimitCommand),
    /// Measure the stores against the raw DynamoDB calls they need, side by side.
    ///
    /// Writes only into a table it creates (`cvstore-bench-<random>`, deleted afterwards
    /// unless `--keep`) or the existing table `--into-table` names; never into `--table`.
    Bench(BenchArgs),
}

/// `cvstore dedupe …`.
#[derive(Debug, Subcommand)]
pub enum DedupeCommand {
    /// Print the job stored for HASH (state, owner's job id, lease, finish time, error).
    /// Exits with status 3 when there is none.
    Status {
        /// The request hash.
        hash: String,
    },
}

/// `cvstore ratelimit …`. Without `--limit`/`--window` a resource is limited to 60 per
/// minute; `--priority` (or `--adaptive`) uses the adaptive, priority-aware limiter,
/// whose state is separate from the plain one.
#[derive(Debug, Subcommand)]
pub enum RateLimitCommand {
    /// Ask for one request: counts it if it may go now, else says how long to wait.
    Acquire {
        /// The resource, e.g. `issues`.
        resource: String,
        #[command(flatten)]
        limit: LimitArgs,
        /// Use the adaptive limiter with this priority.
        #[arg(long, value_enum)]
        priority: Option<PriorityArg>,
    },
    /// Print the resource's window: remaining, limit, reset time (and the adaptive split).
    Status {
        /// The resource.
        resource: String,
        #[command(flatten)]
        limit: LimitArgs,
        /// Read the adaptive limiter's state.
        #[arg(long)]
        adaptive: bool,
    },
    /// Forget every counted request of the resource.
    Reset {
        /// The resource.
        resource: String,
        /// Reset the adaptive limiter's state.
        #[arg(long)]
        adaptive: bool,
    },
    /// Print how long until a request may go (0 if now).
    WaitTime {
        /// The resource.
        resource: String,
        #[command(flatten)]
        limit: LimitArgs,
        /// Ask the adaptive limiter, for this priority.
        #[arg(long, value_enum)]
        priority: Option<PriorityArg>,
    },
}

/// The limit of the resource a rate-limit command works on.
#[derive(Clone, Copy, Debug, Args)]
pub struct LimitArgs {
    /// Requests per window [default: 60].
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// The window, e.g. `3s`, `1m`, `1h` [default: 1m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub window: Option<Duration>,
}

/// A request priority on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PriorityArg {
    /// A person is waiting.
    User,
    /// Nobody is waiting.
    Background,
}

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
    #[arg(long, value_name = "NAME")]
    pub into_table: Option<String>,
    /// Keep the table the run created (its name is printed) instead of deleting it.
    #[arg(long, conflicts_with = "into_table")]
    pub keep: bool,
}

/// `cvstore table …`.
#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Create the table with the project's schema and enable time to live; succeeds
    /// (enabling time to live if needed) if it already exists with that schema. The
    /// only command that creates a table.
    Create,
    /// Check the table against the project's schema: prints each difference on its own
    /// line and exits with status 1 if there is any.
    Verify,
    /// Print the table's definition (no AWS call is made).
    Schema {
        /// What to print.
        #[arg(long, value_enum, default_value_t = SchemaFormat::AwsCli)]
        format: SchemaFormat,
    },
}

/// Renderings of the table definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchemaFormat {
    /// One JSON object: `create_table` (the input of `aws dynamodb create-table
    /// --cli-input-json`) and `update_time_to_live` (of `aws dynamodb update-time-to-live
    /// --cli-input-json`).
    AwsCli,
    /// Only the `create-table` input.
    CreateTable,
    /// Only the `update-time-to-live` input.
    UpdateTimeToLive,
    /// A CloudFormation template holding the `AWS::DynamoDB::Table` resource.
    Cloudformation,
}

/// `cvstore cache …`. Keys are the stores' keys, e.g. a request hash from `cvstore hash`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print the live value stored under KEY as compact JSON. Exits with status 3 when
    /// there is none (printing nothing, or the JSON report with `--json`).
    Get {
        /// The cache key.
        key: String,
    },
    /// Store a JSON value under KEY.
    Set {
        /// The cache key.
        key: String,
        /// The value as JSON, or `-` to read it from standard input (for values too large
        /// for one argument).
        value_json: String,
        /// How long the entry lives, e.g. `90s`, `1h` [default: 1h].
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        ttl: Option<Duration>,
    },
    /// Remove the entry under KEY (nothing happens if there is none).
    Delete {
        /// The cache key.
        key: String,
    },
    /// Remove every cache entry; prints how many were removed.
    Clear,
    /// Remove the expired cache entries; prints how many were removed.
    Cleanup,
    /// Count the entries (expired ones too) and their approximate stored size.
    Stats,
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
}

/// Options of the hidden `cvstore demo-worker` (one worker process of the DynamoDB demo).
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

/// Parses `250ms`, `3s`, `1m`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 3s, 1m or 1h"))?;
    let millis = match unit {
        "ms" => Some(n),
        "" | "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?}: use ms, s, m or h"
            ));
        }
    }
    .ok_or_else(|| format!("{text:?} is too long"))?;
    if millis == 0 {
        return Err(format!("{text:?}: a duration must be positive"));
    }
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("0s").unwrap_err().contains("positive"));
        assert!(parse_duration("3 days").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1x").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

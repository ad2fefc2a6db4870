//! Arguments of the store commands: `table`, `cache`, `dedupe`, `ratelimit`.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use comic_vine_store::config::MAX_LIMIT;

use super::values::{
    max_ttl, parse_key, parse_limit, parse_reserve, parse_resource, parse_ttl, parse_window,
    render_duration,
};

/// The size limit of a cache value, as `--help` states it.
fn value_help() -> String {
    format!(
        "The value as JSON, stored and printed back as exactly this text (numbers keep \
         every digit), or `-` to read it from standard input. At most {} of JSON",
        mib(comic_vine_store::MAX_VALUE_BYTES)
    )
}

/// `bytes` in MiB, e.g. `32 MiB`.
pub fn mib(bytes: usize) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}

fn ttl_help() -> String {
    format!(
        "How long the entry lives, e.g. `90s`, `1h`; at most {} [default: 1h]",
        render_duration(max_ttl())
    )
}

fn limit_help() -> String {
    format!("Requests per window, 1 to {MAX_LIMIT} [default: 60]")
}

/// `cvstore dedupe …`.
#[derive(Debug, Subcommand)]
pub enum DedupeCommand {
    /// Print the job stored for HASH (state, owner's job id, lease, finish time, error).
    /// Exits with status 3 when there is none.
    Status {
        /// The request hash.
        #[arg(value_parser = parse_key)]
        hash: String,
    },
}

/// The exit statuses of `ratelimit acquire`.
const ACQUIRE_STATUSES: &str = "Exit status: 0 granted, 4 denied (the output says when to retry), \
                                1 failure, 2 invalid usage.";

/// `cvstore ratelimit …`. Without `--limit`/`--window` a resource is limited to 60 per
/// minute; `--priority` (or `--adaptive`) uses the adaptive, priority-aware limiter,
/// whose state is separate from the plain one.
#[derive(Debug, Subcommand)]
pub enum RateLimitCommand {
    /// Ask for one request: counts it if it may go now, else says how long to wait
    /// (exit status 4).
    #[command(after_help = ACQUIRE_STATUSES)]
    Acquire(AskArgs),
    /// Print the resource's window: remaining, limit, reset time (and the adaptive split).
    Status {
        /// The resource.
        #[arg(value_parser = parse_resource)]
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
        #[arg(value_parser = parse_resource)]
        resource: String,
        /// Reset the adaptive limiter's state.
        #[arg(long)]
        adaptive: bool,
    },
    /// Print how long until a request may go (0 if now).
    WaitTime(AskArgs),
}

/// What `ratelimit acquire` and `ratelimit wait-time` ask about: a resource, its limit
/// and, for the adaptive limiter, a priority.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// The resource, e.g. `issues`.
    #[arg(value_parser = parse_resource)]
    pub resource: String,
    #[command(flatten)]
    pub limit: LimitArgs,
    /// Ask the adaptive limiter, at this priority.
    #[arg(long, value_enum)]
    pub priority: Option<PriorityArg>,
}

/// The limit of the resource a rate-limit command works on.
#[derive(Clone, Copy, Debug, Default, Args)]
pub struct LimitArgs {
    /// Requests per window.
    #[arg(long, value_name = "N", value_parser = parse_limit, help = limit_help())]
    pub limit: Option<u32>,
    /// The window, e.g. `3s`, `1m`, `1h`; at most a year [default: 1m].
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    pub window: Option<Duration>,
    /// Adaptive limiter only: requests of each window kept for users, less than the
    /// limit [default: 5, or the limit − 1 for smaller limits].
    #[arg(long, value_name = "N", value_parser = parse_reserve)]
    pub min_user_reserved: Option<u32>,
}

/// A request priority on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PriorityArg {
    /// A person is waiting.
    User,
    /// Nobody is waiting.
    Background,
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

/// `cvstore cache …`. Keys are the stores' keys, e.g. a request hash from `cvstore hash`
/// (1 to 1024 bytes, no control characters).
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print the live value stored under KEY, exactly as it was stored. Exits with
    /// status 3 when there is none (printing nothing, or the JSON report with `--json`).
    Get {
        /// The cache key.
        #[arg(value_parser = parse_key)]
        key: String,
    },
    /// Store a JSON value under KEY. A refused value (invalid, or over the size limit)
    /// is exit status 2 and leaves the stored value as it was.
    Set {
        /// The cache key.
        #[arg(value_parser = parse_key)]
        key: String,
        /// The value.
        #[arg(allow_hyphen_values = true, help = value_help())]
        value_json: String,
        /// How long the entry lives.
        #[arg(long, value_name = "DURATION", value_parser = parse_ttl, help = ttl_help())]
        ttl: Option<Duration>,
    },
    /// Remove the entry under KEY (nothing happens if there is none).
    Delete {
        /// The cache key.
        #[arg(value_parser = parse_key)]
        key: String,
    },
    /// Remove every cache entry; prints how many were removed.
    Clear,
    /// Remove every cache entry of one resource (keys `RESOURCE/…`, as the pipeline and
    /// the HTTP layers write them), reading no other resource's entries; prints how many
    /// were removed.
    Purge {
        /// The resource, e.g. `volumes` (1 to 256 bytes, no control characters).
        #[arg(long, value_parser = parse_resource)]
        resource: String,
    },
    /// Remove the expired cache entries; prints how many were removed.
    Cleanup,
    /// Count the entries (expired ones too) and their approximate stored size.
    Stats,
}

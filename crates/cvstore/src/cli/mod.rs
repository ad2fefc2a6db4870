//! Command-line syntax.

mod fetch_args;
mod run;
mod store_spec;
mod stores;
mod usage;
mod values;

use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};
use comic_vine_dynamodb_store::DEFAULT_TABLE_NAME;

pub use fetch_args::{FETCH_STATUSES, FetchArgs, mask_query_text};
pub use run::{BenchArgs, DemoArgs, DemoWorkerArgs, Phase, StaleMode, TargetTableArgs};
pub use store_spec::StoreSpec;
use store_spec::parse_store;
pub use stores::{
    AskArgs, CacheCommand, DedupeCommand, LimitArgs, PriorityArg, RateLimitCommand, SchemaFormat,
    TableCommand, mib,
};
pub use usage::{parse, usage_line, wants_json};
pub use values::parse_duration;
use values::{parse_api_endpoint, parse_endpoint, parse_table};

/// Exit status of a command that failed (one `error:` line on stderr).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status of an invalid command line: an argument out of range, invalid JSON, a
/// value over the size limit. Nothing was sent or written.
pub const EXIT_USAGE: u8 = 2;
/// Exit status of `cvstore cache get` when the key has no live entry.
pub const EXIT_NOT_FOUND: u8 = 3;
/// Exit status of a denied `cvstore ratelimit acquire`.
pub const EXIT_DENIED: u8 = 4;

/// Cache, dedupe and rate-limit stores for API clients, on DynamoDB or one SQLite file:
/// operate the stores, run the demo and the benchmarks.
#[derive(Debug, Parser)]
#[command(
    name = "cvstore",
    version,
    about,
    long_about = None,
    after_help = "Exit status: 0 success, 1 failure (one line on stderr; with --json also \
                  {\"error\":{\"kind\":…,\"message\":…}} on stdout), 2 invalid usage (nothing \
                  was sent), 3 not found (`cache get` of a key without a live entry, `dedupe \
                  status` of a hash without a job, `fetch` of a URL upstream answers 404), 4 denied (`ratelimit acquire`).\n\
                  Empty CVSTORE_* variables count as unset; CVSTORE_LOG takes a log filter \
                  such as `debug`."
)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Log to stderr: -v warnings, -vv information, -vvv debugging [default: no logs,
    /// unless CVSTORE_LOG is set].
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// Where the stores live (used by `table`, `cache`, `health`, `dedupe`, `ratelimit`,
    /// `fetch`).
    #[command(flatten)]
    pub store: StoreArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The global flags naming the backend: the DynamoDB table and how to reach it, or
/// the SQLite file.
#[derive(Clone, Debug, Args)]
pub struct StoreArgs {
    /// The backend: `sqlite:PATH` (one database file shared by the processes of this
    /// host; store commands create the file and its schema if it does not exist, and
    /// refuse a file that is not a comic-vine-store database), `dynamodb` (the table
    /// `--table` names) or, for the demo and `fetch`, `memory` [default: dynamodb; the
    /// demo: memory, or dynamodb given `--endpoint`].
    #[arg(
        long,
        global = true,
        env = "CVSTORE_STORE",
        value_name = "STORE",
        value_parser = parse_store
    )]
    pub store: Option<StoreSpec>,

    /// DynamoDB endpoint, an http(s) URL, e.g. http://127.0.0.1:8000 for DynamoDB Local
    /// [default: AWS's endpoint for the region].
    #[arg(
        long,
        global = true,
        env = "CVSTORE_ENDPOINT",
        value_name = "URL",
        value_parser = parse_endpoint
    )]
    pub endpoint: Option<String>,

    /// The DynamoDB table: 3 to 255 characters of a-z, A-Z, 0-9, `_`, `-`, `.`.
    #[arg(
        long,
        global = true,
        env = "CVSTORE_TABLE",
        value_name = "NAME",
        default_value = DEFAULT_TABLE_NAME,
        value_parser = parse_table
    )]
    pub table: String,

    /// AWS region [default: from the AWS configuration; us-east-1 for a loopback endpoint].
    #[arg(long, global = true, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,

    /// Time limit of each store operation, retries included, e.g. `5s` [default: 30s]; on
    /// SQLite, how long a call waits for another process's write [default: 5s].
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
        #[arg(value_parser = parse_api_endpoint)]
        endpoint: String,
        /// The parameters as a JSON object, e.g. '{"limit":10}'.
        params_json: String,
    },
    /// Run the demo: a fleet of workers sharing one API budget through the stores
    /// (in memory; with OS processes on DynamoDB given `--endpoint` or
    /// `--dynamodb-local`, or on one SQLite file given `--store sqlite:PATH`).
    ///
    /// On DynamoDB it writes only into a table it creates (`cvstore-demo-<random>`, deleted
    /// afterwards unless `--keep`) or the existing table `--into-table` names; never into
    /// `--table`. On SQLite likewise only into a new file in the temporary directory
    /// (`cvstore-demo-<random>.db`) or the existing database `--into-file` names; never
    /// into the `--store` file.
    Demo(DemoArgs),
    /// One worker process of the DynamoDB demo (started by `demo`).
    #[command(hide = true)]
    DemoWorker(DemoWorkerArgs),
    /// Create, verify or print the DynamoDB table (DynamoDB only: a SQLite file is
    /// created by the store commands).
    #[command(subcommand)]
    Table(TableCommand),
    /// Read and manage the response cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Check that the table (or the SQLite file) answers (the cache store's health
    /// check); exits with status 1 when it does not.
    Health,
    /// Inspect request deduplication jobs.
    #[command(subcommand)]
    Dedupe(DedupeCommand),
    /// Use and manage the shared rate limits.
    #[command(subcommand)]
    Ratelimit(RateLimitCommand),
    /// Measure the stores against the raw DynamoDB calls they need, side by side
    /// (DynamoDB only).
    ///
    /// Writes only into a table it creates (`cvstore-bench-<random>`, deleted afterwards
    /// unless `--keep`) or the existing table `--into-table` names; never into `--table`.
    Bench(BenchArgs),
    /// Serve a local web page of the stores on the table, live: each resource's window
    /// and a chart of its grants against the limit, the cache's size, the breaker.
    /// Read-only unless `--allow-writes`; listens on 127.0.0.1 unless `--bind`.
    Dashboard(crate::commands::DashboardArgs),
    /// GET a URL through the stores of the global flags (response cache, dedupe, the
    /// adaptive rate limit), as the HTTP middleware would: prints the body, with `-i`
    /// the status line and headers first, with `--json` one object {status, served_by,
    /// age_seconds, headers, body}. `--store memory` uses stores that end with the
    /// command. Upstream connection errors, 5xx and 429 answers are retried (3 attempts).
    #[command(after_help = FETCH_STATUSES)]
    Fetch(FetchArgs),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

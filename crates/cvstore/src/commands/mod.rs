//! One module per subcommand (group).

mod backend;
mod bench;
mod cache;
mod connect;
mod dashboard;
mod dedupe;
mod demo;
mod fetch;
mod hash;
mod health;
mod https;
pub mod output;
mod ratelimit;
mod table;

pub use connect::InvalidFlag;
pub use dashboard::DashboardArgs;

use crate::cli::{Cli, Command};

/// How a command that did not fail ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It did what was asked (exit status 0).
    Done,
    /// What was asked for does not exist (exit status [`crate::cli::EXIT_NOT_FOUND`]).
    NotFound,
    /// A rate limit said no (exit status [`crate::cli::EXIT_DENIED`]).
    Denied,
}

/// Runs the parsed command line and tells how it ended (`main` turns that into the
/// exit status; [`crate::failure::Failure`] reports an error).
pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let json = cli.json;
    let store = &cli.store;
    match cli.command {
        Command::Hash {
            endpoint,
            params_json,
        } => hash::run(&endpoint, &params_json, json)?,
        Command::Demo(args) => demo::run(args, store, json).await?,
        Command::DemoWorker(args) => demo::worker(args, store).await?,
        Command::Table(command) => table::run(command, store, json).await?,
        Command::Cache(command) => return cache::run(command, store, json).await,
        Command::Health => health::run(store, json).await?,
        Command::Dedupe(command) => return dedupe::run(command, store, json).await,
        Command::Ratelimit(command) => return ratelimit::run(command, store, json).await,
        Command::Bench(args) => bench::run(args, store, json).await?,
        Command::Dashboard(args) => dashboard::run(args, store, json).await?,
        Command::Fetch(args) => fetch::run(args, store, json).await?,
    }
    Ok(Outcome::Done)
}

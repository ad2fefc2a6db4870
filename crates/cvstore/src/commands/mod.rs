//! One module per subcommand.

mod demo;
mod hash;

use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Hash { endpoint, params } => hash::run(&endpoint, &params, cli.json),
        Command::Demo(args) => demo::run(args, cli.json).await,
    }
}

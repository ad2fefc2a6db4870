//! One module per subcommand (group).

mod bench;
mod cache;
mod connect;
mod dedupe;
mod demo;
mod hash;
mod health;
mod output;
mod ratelimit;
mod table;

use crate::cli::{Cli, Command};

/// How a command that did not fail ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It did what was asked (exit status 0).
    Done,
    /// What was asked for does not exist (exit status [`crate::cli::EXIT_NOT_FOUND`]).
    NotFound,
}

/// Runs the parsed command line and tells how it ended (`main` turns that into the
/// exit status). An error comes back as one line: its causes joined by `: `, each only
/// once (store errors already name their causes).
pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    dispatch(cli)
        .await
        .map_err(|e| anyhow::Error::msg(one_line(&e)))
}

/// Runs the command and tells how it ended.
async fn dispatch(cli: Cli) -> anyhow::Result<Outcome> {
    let json = cli.json;
    let store = &cli.store;
    match cli.command {
        Command::Hash { endpoint, params } => hash::run(&endpoint, &params, json)?,
        Command::Demo(args) => demo::run(args, store, json).await?,
        Command::DemoWorker(args) => demo::worker(args, store).await?,
        Command::Table(command) => table::run(command, store, json).await?,
        Command::Cache(command) => return cache::run(command, store, json).await,
        Command::Health => health::run(store, json).await?,
        Command::Dedupe(command) => return dedupe::run(command, store, json).await,
        Command::Ratelimit(command) => ratelimit::run(command, store, json).await?,
        Command::Bench(args) => bench::run(args, store, json).await?,
    }
    Ok(Outcome::Done)
}

/// `err` and its causes on one line, joined by `: `, skipping a cause whose text is
/// already there.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_joins_distinct_causes_once() {
        let err = anyhow::anyhow!("io: refused")
            .context("GetItem failed: io: refused")
            .context("cannot read");
        assert_eq!(one_line(&err), "cannot read: GetItem failed: io: refused");
        let multi_line = anyhow::anyhow!("first\n  second");
        assert_eq!(one_line(&multi_line), "first second");
    }
}

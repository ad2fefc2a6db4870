//! `cvstore`: the command-line tool of comic-vine-store.

mod bench;
mod cli;
mod commands;
mod failure;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::error::ErrorKind;
use tracing_subscriber::EnvFilter;

use failure::Failure;

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    init_logs(cli.verbose);
    let json = cli.json;
    let table = cli.store.table.clone();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(cli::EXIT_FAILURE);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(commands::Outcome::Done) => ExitCode::SUCCESS,
        Ok(commands::Outcome::NotFound) => ExitCode::from(cli::EXIT_NOT_FOUND),
        Ok(commands::Outcome::Denied) => ExitCode::from(cli::EXIT_DENIED),
        Err(e) => {
            let failure = Failure::from_error(&e, &table);
            failure.report(json);
            ExitCode::from(failure.status)
        }
    }
}

/// Reports a command line clap refused (or prints the help or version it asked for).
fn usage_error(err: &clap::Error) -> ExitCode {
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => err.exit(),
        _ => {
            Failure::usage(cli::usage_line(err)).report(cli::wants_json());
            ExitCode::from(cli::EXIT_USAGE)
        }
    }
}

/// Logs to stderr as CVSTORE_LOG says (e.g. `debug`), else as `-v` says: off by
/// default, so that a failure is its one `error:` line; colour only on a terminal.
fn init_logs(verbose: u8) {
    let filter = std::env::var("CVSTORE_LOG")
        .ok()
        .filter(|f| !f.trim().is_empty())
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| {
            EnvFilter::new(match verbose {
                0 => "off",
                1 => "warn",
                2 => "info",
                _ => "debug",
            })
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

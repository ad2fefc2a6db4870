//! Command-line syntax.

use clap::{Args, Parser, Subcommand};

/// DynamoDB-backed cache, dedupe and rate-limit stores for API clients: operate the
/// stores, run the demo and the benchmarks.
#[derive(Debug, Parser)]
#[command(name = "cvstore", version, about, long_about = None)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
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
    /// Run the demo: a fleet of workers sharing one API budget through the stores.
    Demo(DemoArgs),
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
    pub window: std::time::Duration,
    /// Seed of the request mix (the same seed gives the same requests).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// Parses `250ms`, `3s`, `1m`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
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
    Ok(std::time::Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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

//! Parsing the command line: empty environment variables count as unset, and a usage
//! error becomes one line naming the argument.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};

use super::Cli;

/// Parses the process's arguments (and the flags' environment variables, an empty one
/// counting as unset).
///
/// # Errors
///
/// clap's error: help or version to print, or invalid usage ([`usage_line`] renders it).
pub fn parse() -> Result<Cli, clap::Error> {
    parse_from(std::env::args_os(), |name| std::env::var_os(name))
}

/// [`parse`] of `args`, reading environment variables through `env`.
fn parse_from(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&std::ffi::OsStr) -> Option<OsString>,
) -> Result<Cli, clap::Error> {
    let mut command = Cli::command();
    let empty: Vec<clap::Id> = command
        .get_arguments()
        .filter(|arg| {
            arg.get_env()
                .is_some_and(|name| env(name).is_some_and(|value| value.is_empty()))
        })
        .map(|arg| arg.get_id().clone())
        .collect();
    for id in empty {
        command = command.mut_arg(id, |arg| arg.env(None::<&str>));
    }
    let matches = command.try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// Whether the command line asks for JSON output (for reporting a usage error, when
/// it could not be parsed).
pub fn wants_json() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// The usage error as one line without the `error: ` prefix: `invalid --limit: …` for a
/// rejected value, else clap's message up to its usage hint, on one line.
pub fn usage_line(err: &clap::Error) -> String {
    if err.kind() == ErrorKind::ValueValidation
        && let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg)
        && let Some(reason) = std::error::Error::source(err)
    {
        // `--limit <N>` → `--limit`; `<KEY>` → `KEY`.
        let name = arg.split(' ').next().unwrap_or(arg);
        let name = name.trim_start_matches('<').trim_end_matches('>');
        return format!("invalid {name}: {reason}");
    }
    let rendered = err.render().to_string();
    let mut parts = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            parts.push(line);
        }
    }
    parts.join(" ").trim_start_matches("error: ").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        std::iter::once("cvstore")
            .chain(list.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn usage_errors_are_one_line_naming_the_argument() {
        let none = |_: &std::ffi::OsStr| None;
        let line = |list: &[&str]| usage_line(&parse_from(args(list), none).unwrap_err());
        assert_eq!(
            line(&["cache", "get", ""]),
            "invalid KEY: must not be empty"
        );
        assert!(
            line(&["ratelimit", "acquire", "r", "--limit", "0"])
                .starts_with("invalid --limit: \"0\" is not a whole number from 1 to 100000")
        );
        let missing = line(&["cache", "set", "k"]);
        assert!(
            missing.contains("<VALUE_JSON>") && !missing.contains('\n'),
            "{missing}"
        );
        let unknown = line(&["cache", "frobnicate"]);
        assert!(
            unknown.starts_with("unrecognized subcommand 'frobnicate'"),
            "{unknown}"
        );
    }
}

//! Running `scripts/dynamodb-local.sh`.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use comic_vine_store::{StoreError, StoreResult};

/// Environment variable that overrides the script's path.
pub(super) const SCRIPT_ENV: &str = "DYNAMODB_LOCAL_SCRIPT";

/// What `dynamodb-local.sh start` printed.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Started {
    /// `http://127.0.0.1:PORT`.
    pub(super) endpoint: String,
    /// The server's process id.
    pub(super) pid: u32,
}

/// The script's path: `$DYNAMODB_LOCAL_SCRIPT`, else `scripts/dynamodb-local.sh` of the
/// workspace this crate was built in.
fn script_path() -> PathBuf {
    std::env::var_os(SCRIPT_ENV).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/dynamodb-local.sh"),
        PathBuf::from,
    )
}

fn run(args: &[&str]) -> StoreResult<Output> {
    let script = script_path();
    let output = Command::new("bash")
        .arg(&script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| {
            StoreError::backend(format!("could not run `bash {}`", script.display()), err)
        })?;
    if output.status.success() {
        Ok(output)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        Err(StoreError::backend(
            format!(
                "`{} {}` failed ({}): {stderr}",
                script.display(),
                args.join(" "),
                output.status
            ),
            stderr,
        ))
    }
}

/// Starts a server with a watchdog that stops it when process `watch_pid` exits.
pub(super) fn start(watch_pid: u32) -> StoreResult<Started> {
    let output = run(&["start", "--watch-pid", &watch_pid.to_string()])?;
    parse_started(&String::from_utf8_lossy(&output.stdout))
}

/// Stops server `pid` (TERM, then KILL); a server that is gone is not an error.
pub(super) fn stop(pid: u32) -> StoreResult<()> {
    run(&["stop", &pid.to_string()]).map(drop)
}

/// Parses the `DYNAMODB_ENDPOINT=...` and `DYNAMODB_LOCAL_PID=...` lines of `start`.
fn parse_started(stdout: &str) -> StoreResult<Started> {
    let value = |key: &str| {
        stdout
            .lines()
            .find_map(|line| line.trim().strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let bad_output = |what: &str| {
        StoreError::backend(
            format!("dynamodb-local.sh start printed no valid {what}"),
            stdout.to_owned(),
        )
    };
    let endpoint = value("DYNAMODB_ENDPOINT").ok_or_else(|| bad_output("DYNAMODB_ENDPOINT"))?;
    let pid = value("DYNAMODB_LOCAL_PID")
        .and_then(|pid| pid.parse().ok())
        .ok_or_else(|| bad_output("DYNAMODB_LOCAL_PID"))?;
    Ok(Started { endpoint, pid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_start_output() {
        let started =
            parse_started("DYNAMODB_ENDPOINT=http://127.0.0.1:4567\nDYNAMODB_LOCAL_PID=42\n");
        assert_eq!(
            started.ok(),
            Some(Started {
                endpoint: "http://127.0.0.1:4567".into(),
                pid: 42,
            })
        );
    }

    #[test]
    fn rejects_incomplete_output() {
        assert!(parse_started("DYNAMODB_ENDPOINT=http://127.0.0.1:4567\n").is_err());
        assert!(parse_started("DYNAMODB_LOCAL_PID=42\n").is_err());
        assert!(
            parse_started("DYNAMODB_ENDPOINT=http://127.0.0.1:1\nDYNAMODB_LOCAL_PID=x\n").is_err()
        );
    }
}

//! How a failed command is reported: one line on stderr in the user's terms, the exit
//! status for its class, and with `--json` one `{"error":{…}}` object on stdout.

use std::fmt;

use comic_vine_store::StoreError;
use serde_json::json;

use crate::cli::{EXIT_FAILURE, EXIT_USAGE};
use crate::commands::{InvalidFlag, output};

/// An argument rejected after parsing (invalid JSON, a value over the size limit, a
/// combination of flags): exit status 2. The message names the argument.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A failure a command classified itself (e.g. `fetch`'s upstream answers): its exit
/// status, kind and one-line message are reported as they are.
#[derive(Debug)]
pub struct Classified {
    /// The exit status.
    pub status: u8,
    /// The stable name of the failure.
    pub kind: &'static str,
    /// One line, without the `error: ` prefix.
    pub message: String,
}

impl fmt::Display for Classified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Classified {}

/// A failed command, ready to report.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    /// The exit status.
    pub status: u8,
    /// A stable name of the failure, e.g. `table_not_found` or `invalid_usage`.
    pub kind: &'static str,
    /// One line, without the `error: ` prefix.
    pub message: String,
}

impl Failure {
    /// An invalid command line.
    pub fn usage(message: String) -> Self {
        Self {
            status: EXIT_USAGE,
            kind: "invalid_usage",
            message,
        }
    }

    /// Classifies `err` from a command on `table`.
    pub fn from_error(err: &anyhow::Error, table: &str) -> Self {
        if let Some(c) = err.downcast_ref::<Classified>() {
            return Self {
                status: c.status,
                kind: c.kind,
                message: c.message.clone(),
            };
        }
        let message = one_line(err);
        let store = err.chain().find_map(|e| e.downcast_ref::<StoreError>());
        // Only the CLI's own checks, made before any request, are usage errors: the
        // library's `InvalidConfig` also says things like "the table exists with another
        // schema".
        let usage = err
            .chain()
            .any(|e| e.is::<UsageError>() || e.is::<InvalidFlag>());
        if usage {
            return Self::usage(message);
        }
        if let Some(at) = message.find("ValidationException: ") {
            let said = &message[at + "ValidationException: ".len()..];
            return Self {
                status: EXIT_FAILURE,
                kind: "table_mismatch",
                message: format!(
                    "table `{table}` refused the request ({said}); it may not have the \
                     stores' schema: check it with `cvstore table verify --table {table}`"
                ),
            };
        }
        let message = match store {
            // The library names the table; the CLI knows how it is made.
            Some(StoreError::TableNotFound { table }) => {
                format!("{message}: create it with `cvstore table create --table {table}`")
            }
            _ => message,
        };
        Self {
            status: EXIT_FAILURE,
            kind: store.map_or("failure", StoreError::kind),
            message,
        }
    }

    /// Prints the `error:` line on stderr and, with `json`, the error object on stdout
    /// unless the command already printed its JSON report there.
    pub fn report(&self, json: bool) {
        eprintln!("error: {}", self.message);
        if json && !output::written() {
            let _ = output::json(&json!({
                "error": { "kind": self.kind, "message": self.message }
            }));
        }
    }
}

/// `err` and its causes on one line, joined by `: `, skipping a cause whose text is
/// already there. A store error ends the line: it names its causes itself, and what is
/// below it is the SDK's internals.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        if cause.is::<StoreError>() {
            break;
        }
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

    #[test]
    fn a_store_error_ends_the_line() {
        let sdk = std::io::Error::other("Error { code: \"X\", aws_request_id: \"1\" }");
        let err = anyhow::Error::new(StoreError::backend("DynamoDB GetItem failed", sdk));
        assert_eq!(one_line(&err), "backend error: DynamoDB GetItem failed");
        assert_eq!(Failure::from_error(&err, "t").kind, "backend");
    }

    #[test]
    fn classes_and_kinds() {
        let usage = anyhow::Error::new(UsageError("VALUE_JSON is not valid JSON".into()));
        assert_eq!(Failure::from_error(&usage, "t").status, EXIT_USAGE);
        let flag = anyhow::Error::new(InvalidFlag {
            flag: "--table".into(),
            reason: "must be 3 to 255 characters long".into(),
        });
        assert_eq!(Failure::from_error(&flag, "t").kind, "invalid_usage");
        let config = anyhow::Error::new(StoreError::invalid_config("table_name", "exists"));
        assert_eq!(Failure::from_error(&config, "t").status, EXIT_FAILURE);
        let missing = anyhow::Error::new(StoreError::TableNotFound { table: "t".into() });
        let failure = Failure::from_error(&missing, "t");
        assert_eq!(
            (failure.status, failure.kind),
            (EXIT_FAILURE, "table_not_found")
        );
        assert_eq!(
            failure.message,
            "table `t` not found: create it with `cvstore table create --table t`"
        );
        let shape = anyhow::Error::new(StoreError::Backend {
            message: "DynamoDB GetItem on table `t` failed: ValidationException: bad key".into(),
            source: None,
        });
        let failure = Failure::from_error(&shape, "t");
        assert_eq!(failure.kind, "table_mismatch");
        assert!(failure.message.contains("(bad key)"), "{}", failure.message);
        assert!(
            failure
                .message
                .ends_with("`cvstore table verify --table t`")
        );
    }
}

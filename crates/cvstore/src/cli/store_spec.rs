//! The `--store` flag: which backend the stores live on.

use std::fmt;
use std::path::PathBuf;

/// A backend the global `--store` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreSpec {
    /// The embedded in-memory stores (the demo only: they end with the process).
    Memory,
    /// One SQLite database file shared by the processes of one host.
    Sqlite(PathBuf),
    /// The DynamoDB table `--table` names, reached through `--endpoint`/`--region`.
    DynamoDb,
}

impl fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory"),
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::DynamoDb => f.write_str("dynamodb"),
        }
    }
}

/// `memory`, `dynamodb` or `sqlite:PATH` (a non-empty path).
pub fn parse_store(text: &str) -> Result<StoreSpec, String> {
    match text {
        "memory" => return Ok(StoreSpec::Memory),
        "dynamodb" => return Ok(StoreSpec::DynamoDb),
        _ => {}
    }
    match text.split_once(':') {
        Some(("sqlite", "")) => Err("`sqlite:` needs a file path, e.g. `sqlite:cvstore.db`".into()),
        Some(("sqlite", path)) if path.contains('\0') => {
            Err("the file path must not contain a NUL byte".into())
        }
        Some(("sqlite", path)) => Ok(StoreSpec::Sqlite(PathBuf::from(path))),
        _ => Err(format!(
            "{text:?} is not a store: use `sqlite:PATH`, `dynamodb` or (for the demo) `memory`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(parse_store("memory"), Ok(StoreSpec::Memory));
        assert_eq!(parse_store("dynamodb"), Ok(StoreSpec::DynamoDb));
        assert_eq!(
            parse_store("sqlite:/tmp/a:b.db"),
            Ok(StoreSpec::Sqlite("/tmp/a:b.db".into()))
        );
        assert!(
            parse_store("sqlite:")
                .unwrap_err()
                .contains("needs a file path")
        );
        assert!(
            parse_store("redis:x")
                .unwrap_err()
                .contains("is not a store")
        );
        assert_eq!(
            parse_store("sqlite:x.db").unwrap().to_string(),
            "sqlite:x.db"
        );
    }
}

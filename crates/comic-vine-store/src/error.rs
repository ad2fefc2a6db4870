//! The one error type every store returns.

use std::path::PathBuf;
use std::time::Duration;

/// A boxed error kept as the [`std::error::Error::source`] of a [`StoreError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a store operation can fail with.
///
/// Variants are typed so callers can react (back off on [`StoreError::Throttled`],
/// degrade on [`StoreError::CircuitBreakerOpen`], fix their input on
/// [`StoreError::InvalidInput`]); backend errors keep their cause as `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The circuit breaker is open: the call failed at once without touching the backend.
    #[error("circuit breaker open: backend failing, next attempt in {retry_after:?}")]
    CircuitBreakerOpen {
        /// Time until the breaker lets one trial call through.
        retry_after: Duration,
    },

    /// The backend throttled the request (after the configured retries).
    #[error("DynamoDB throttled the request ({message})")]
    Throttled {
        /// What the backend said.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },

    /// The operation did not finish within its timeout.
    #[error("operation `{operation}` timed out after {timeout:?}")]
    OperationTimeout {
        /// The store operation, e.g. `cache.get`.
        operation: String,
        /// The timeout that elapsed.
        timeout: Duration,
    },

    /// An item exceeded what the backend can store in one item.
    #[error("item `{key}` is too large ({size} bytes; the limit is {limit} bytes)")]
    ItemTooLarge {
        /// The key of the item.
        key: String,
        /// Its size in bytes, as far as known.
        size: usize,
        /// The backend's limit in bytes.
        limit: usize,
    },

    /// The table does not exist.
    #[error(
        "table `{table}` not found: create it with `cvstore table create --table {table}` \
         or `comic_vine_dynamodb_store::create_table`"
    )]
    TableNotFound {
        /// The table's name.
        table: String,
    },

    /// The store was closed; no further operations are accepted.
    #[error("store is closed")]
    Closed,

    /// An argument was rejected before any I/O.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The argument, e.g. `hash` or `resource`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A configuration value was rejected.
    #[error("invalid configuration `{field}`: {reason}")]
    InvalidConfig {
        /// The option, e.g. `rate_limit.default.limit`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A value could not be serialized or deserialized.
    #[error("serialization failed: {0}")]
    Serialization(#[from] serde_json::Error),

    /// The caller does not own the job it tried to complete or fail (it never did, or
    /// its lease expired and another caller took over).
    #[error(
        "job for `{hash}` is not owned by job id `{job_id}` (taken over, finished or never registered)"
    )]
    NotJobOwner {
        /// The request hash.
        hash: String,
        /// The job id the caller presented.
        job_id: String,
    },

    /// A compare-and-swap loop lost the race too many times in a row.
    #[error("too much contention on `{key}`: gave up after {attempts} attempts")]
    Contention {
        /// The contended key.
        key: String,
        /// How many attempts were made.
        attempts: u32,
    },

    /// Stored data did not have the expected shape (e.g. written by an incompatible version).
    #[error("corrupt stored data for `{key}`: {reason}")]
    Corrupt {
        /// The item's key.
        key: String,
        /// What was wrong.
        reason: String,
    },

    /// A stored item has the layout of an older version of this library: reading it as
    /// anything (say, as empty) could let a mixed fleet exceed a limit, so it is refused.
    #[error("`{item}` holds an older layout of this library (attributes {found}); {remedy}")]
    OlderLayout {
        /// The item's key.
        item: String,
        /// The attributes of the older layout found on it.
        found: String,
        /// What to do about it.
        remedy: String,
    },

    /// The backend could not be reached or failed on its side (HTTP 5xx, connection
    /// refused or reset, a timed-out attempt). Such failures open the circuit breaker.
    #[error("DynamoDB is unavailable ({message})")]
    Unavailable {
        /// What happened.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },

    /// A file-based backend cannot use the file it was pointed at (not a database, of
    /// another schema version, read-only, locked past the busy timeout, a directory).
    #[error("storage file `{}`: {reason}", path.display())]
    StorageFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },

    /// Any other backend failure; the backend's error is kept as the source.
    #[error("backend error: {message}")]
    Backend {
        /// Short description.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// Shorthand for [`StoreError::InvalidInput`].
    pub fn invalid_input(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field,
            reason: reason.into(),
        }
    }

    /// Shorthand for [`StoreError::InvalidConfig`].
    pub fn invalid_config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`StoreError::Backend`] with a source.
    pub fn backend(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Backend {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A copy of this error for another caller that shares its cause (e.g. every request
    /// of a batch that failed together): same variant and fields, with the original
    /// error's text standing in for a source that cannot be cloned.
    pub fn duplicate(&self) -> Self {
        let lost = |source: &Option<BoxError>| -> Option<BoxError> {
            source.as_ref().map(|s| s.to_string().into())
        };
        match self {
            Self::CircuitBreakerOpen { retry_after } => Self::CircuitBreakerOpen {
                retry_after: *retry_after,
            },
            Self::Throttled { message, source } => Self::Throttled {
                message: message.clone(),
                source: lost(source),
            },
            Self::OperationTimeout { operation, timeout } => Self::OperationTimeout {
                operation: operation.clone(),
                timeout: *timeout,
            },
            Self::ItemTooLarge { key, size, limit } => Self::ItemTooLarge {
                key: key.clone(),
                size: *size,
                limit: *limit,
            },
            Self::TableNotFound { table } => Self::TableNotFound {
                table: table.clone(),
            },
            Self::Closed => Self::Closed,
            Self::InvalidInput { field, reason } => Self::InvalidInput {
                field,
                reason: reason.clone(),
            },
            Self::InvalidConfig { field, reason } => Self::InvalidConfig {
                field: field.clone(),
                reason: reason.clone(),
            },
            Self::Serialization(e) => Self::Backend {
                message: format!("serialization failed: {e}"),
                source: None,
            },
            Self::NotJobOwner { hash, job_id } => Self::NotJobOwner {
                hash: hash.clone(),
                job_id: job_id.clone(),
            },
            Self::Contention { key, attempts } => Self::Contention {
                key: key.clone(),
                attempts: *attempts,
            },
            Self::Corrupt { key, reason } => Self::Corrupt {
                key: key.clone(),
                reason: reason.clone(),
            },
            Self::OlderLayout {
                item,
                found,
                remedy,
            } => Self::OlderLayout {
                item: item.clone(),
                found: found.clone(),
                remedy: remedy.clone(),
            },
            Self::Unavailable { message, source } => Self::Unavailable {
                message: message.clone(),
                source: lost(source),
            },
            Self::StorageFile {
                path,
                reason,
                source,
            } => Self::StorageFile {
                path: path.clone(),
                reason: reason.clone(),
                source: lost(source),
            },
            Self::Backend { message, source } => Self::Backend {
                message: message.clone(),
                source: lost(source),
            },
        }
    }

    /// A short, stable name of the error kind, for metrics labels and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CircuitBreakerOpen { .. } => "circuit_breaker_open",
            Self::Throttled { .. } => "throttled",
            Self::OperationTimeout { .. } => "timeout",
            Self::ItemTooLarge { .. } => "item_too_large",
            Self::TableNotFound { .. } => "table_not_found",
            Self::Closed => "closed",
            Self::InvalidInput { .. } => "invalid_input",
            Self::InvalidConfig { .. } => "invalid_config",
            Self::Serialization(_) => "serialization",
            Self::NotJobOwner { .. } => "not_job_owner",
            Self::Contention { .. } => "contention",
            Self::Corrupt { .. } => "corrupt",
            Self::OlderLayout { .. } => "older_layout",
            Self::Unavailable { .. } => "unavailable",
            Self::StorageFile { .. } => "storage_file",
            Self::Backend { .. } => "backend",
        }
    }

    /// Whether this failure says the backend is unwell (throttling, unavailable, timed
    /// out), as opposed to an answer about the request itself. Only these count
    /// towards opening a circuit breaker.
    pub fn is_severe(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. } | Self::Unavailable { .. } | Self::OperationTimeout { .. }
        )
    }
}

/// Result alias used throughout the crate.
pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_keep_kind_and_text() {
        let original = StoreError::Throttled {
            message: "ThrottlingException".into(),
            source: Some("rate exceeded".into()),
        };
        let copy = original.duplicate();
        assert_eq!(copy.kind(), "throttled");
        assert_eq!(copy.to_string(), original.to_string());
        assert_eq!(
            std::error::Error::source(&copy).map(ToString::to_string),
            Some("rate exceeded".to_owned())
        );
        let e = StoreError::invalid_input("hash", "must not be empty").duplicate();
        assert!(matches!(e, StoreError::InvalidInput { field: "hash", .. }));
    }
}

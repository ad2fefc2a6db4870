//! The one error type every store returns.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A boxed error, as the constructors (e.g. [`StoreError::backend`]) take a source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The [`std::error::Error::source`] of a [`StoreError`]: shared, so that an error
/// cloned for every caller of a failed batch keeps the real cause. To reach the
/// backend's own error, downcast the source to `SharedError`, then that to the type.
pub type SharedError = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a store operation can fail with.
///
/// Variants are typed so callers can react (back off on [`StoreError::Throttled`],
/// degrade on [`StoreError::CircuitBreakerOpen`], fix their input on
/// [`StoreError::InvalidInput`]); backend errors keep their cause as `source()`.
///
/// Messages are the same whatever the backend: a backend names itself in the
/// `message` it gives (e.g. `DynamoDB PutItem on table `t`: ThrottlingException`).
/// Cloning is cheap and keeps the source (shared), so one failure can be handed to
/// every caller it concerns.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The circuit breaker is open: the call failed at once without touching the backend.
    #[error("circuit breaker open: backend failing, next attempt in {retry_after:?}")]
    CircuitBreakerOpen {
        /// Time until the breaker lets one trial call through.
        retry_after: Duration,
    },

    /// The backend throttled the request (after the configured retries).
    #[error("the backend throttled the request ({message})")]
    Throttled {
        /// What the backend said.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<SharedError>,
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

    /// An entry's metadata (see [`CacheEntry::meta`](crate::CacheEntry::meta)) is longer
    /// than [`MAX_META_BYTES`](crate::cache::MAX_META_BYTES); nothing was written.
    #[error(
        "the metadata of entry `{key}` is too large ({size} bytes of JSON; the limit is {limit} bytes)"
    )]
    MetaTooLarge {
        /// The entry's key.
        key: String,
        /// The metadata's serialized size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },

    /// The table does not exist.
    #[error("table `{table}` not found")]
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
    Serialization(#[source] Arc<serde_json::Error>),

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
    #[error("the backend is unavailable ({message})")]
    Unavailable {
        /// What happened.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<SharedError>,
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
        source: Option<SharedError>,
    },

    /// Any other backend failure; the backend's error is kept as the source.
    #[error("backend error: {message}")]
    Backend {
        /// Short description.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<SharedError>,
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
            source: Some(Arc::from(source.into())),
        }
    }

    /// A short, stable name of the error kind, for metrics labels and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CircuitBreakerOpen { .. } => "circuit_breaker_open",
            Self::Throttled { .. } => "throttled",
            Self::OperationTimeout { .. } => "timeout",
            Self::ItemTooLarge { .. } => "item_too_large",
            Self::MetaTooLarge { .. } => "meta_too_large",
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

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Serialization(Arc::new(e))
    }
}

/// Result alias used throughout the crate.
pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_keeps_kind_text_and_the_source_itself() {
        let original = StoreError::Throttled {
            message: "PutItem: ThrottlingException".into(),
            source: Some(Arc::new(std::io::Error::other("rate exceeded"))),
        };
        let copy = original.clone();
        assert_eq!(copy.kind(), "throttled");
        assert_eq!(copy.to_string(), original.to_string());
        let source = std::error::Error::source(&copy).expect("a source");
        assert_eq!(source.to_string(), "rate exceeded");
        let shared = source
            .downcast_ref::<SharedError>()
            .expect("the shared source");
        assert!(
            shared.is::<std::io::Error>(),
            "the original error, not its text"
        );
        let (
            StoreError::Throttled {
                source: Some(a), ..
            },
            StoreError::Throttled {
                source: Some(b), ..
            },
        ) = (&original, &copy)
        else {
            panic!("both keep a source");
        };
        assert!(Arc::ptr_eq(a, b), "the clone shares the original's source");
        let e = StoreError::invalid_input("hash", "must not be empty").clone();
        assert!(matches!(e, StoreError::InvalidInput { field: "hash", .. }));
        let e = StoreError::from(serde_json::from_str::<u8>("x").unwrap_err()).clone();
        assert_eq!(e.kind(), "serialization");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn messages_name_no_backend() {
        let errors = [
            StoreError::Throttled {
                message: "m".into(),
                source: None,
            },
            StoreError::Unavailable {
                message: "m".into(),
                source: None,
            },
            StoreError::TableNotFound { table: "t".into() },
            StoreError::backend("m", std::io::Error::other("x")),
        ];
        for e in errors {
            let text = e.to_string();
            for name in ["DynamoDB", "cvstore", "SQLite"] {
                assert!(!text.contains(name), "{text}");
            }
        }
    }
}

//! How a pipeline request can fail.

use std::time::Duration;

use crate::error::{BoxError, StoreError};

/// How an upstream call can fail.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Upstream refused: too many requests (429, or Comic Vine's 420).
    #[error("upstream is rate limiting this resource")]
    RateLimited {
        /// How long it asked to wait (e.g. from `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// Any other failure.
    #[error("upstream failed: {0}")]
    Failed(#[source] BoxError),
}

/// How a pipeline request can fail.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The rate limit would make the request wait longer than allowed.
    #[error(
        "rate limit of `{resource}`: next slot in {wait:?}, longer than the {max_wait:?} allowed"
    )]
    WaitTooLong {
        /// The resource.
        resource: String,
        /// The wait the limiter asked for.
        wait: Duration,
        /// The most the pipeline may wait.
        max_wait: Duration,
    },
    /// Upstream failed (for a joiner: the owner's upstream call failed).
    #[error("{0}")]
    Upstream(String),
}

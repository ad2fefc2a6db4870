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
    /// Upstream says the cached value is still current (HTTP 304): the pipeline refreshes
    /// the entry's freshness with [`CacheStore::touch`](crate::CacheStore::touch) and
    /// answers it as [`ServedBy::Revalidated`](super::ServedBy::Revalidated). Only
    /// meaningful from [`Pipeline::execute_revalidating`](super::Pipeline::execute_revalidating)
    /// given an entry; without one it is an error.
    #[error("upstream answered `not modified` but there is no cached entry to revalidate")]
    NotModified,
    /// As [`NotModified`](Self::NotModified), with the freshness upstream gave the value
    /// anew (an HTTP 304 with its own `Cache-Control`/`Expires`): the entry is restamped
    /// with `freshness` rather than the one its stored value gives, and with `meta`, its
    /// metadata is replaced in the same write
    /// ([`CacheStore::touch_with_meta`](crate::CacheStore::touch_with_meta); e.g. the
    /// headers merged with the 304's), the value kept.
    #[error("upstream answered `not modified` but there is no cached entry to revalidate")]
    NotModifiedFor {
        /// The entry's new freshness.
        freshness: crate::cache::Freshness,
        /// The entry's new metadata (see [`EntryPolicy::with_meta`](super::EntryPolicy::with_meta)).
        meta: Option<serde_json::Value>,
    },
}

impl UpstreamError {
    /// Whether upstream confirmed the cached value: `Some` with the freshness it gave it
    /// anew (`None`: the stored value's), `None` for a failure.
    pub(super) fn not_modified(&self) -> Option<Option<crate::cache::Freshness>> {
        match self {
            Self::NotModified => Some(None),
            Self::NotModifiedFor { freshness, .. } => Some(Some(*freshness)),
            _ => None,
        }
    }

    /// The metadata a `NotModifiedFor` gives the entry anew.
    pub(super) fn not_modified_meta(&mut self) -> Option<serde_json::Value> {
        match self {
            Self::NotModifiedFor { meta, .. } => meta.take(),
            _ => None,
        }
    }
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
    /// This request's upstream call failed; `source` is the upstream's error.
    #[error("{context}: {source}")]
    Upstream {
        /// What was called, and what the pipeline did about it (e.g. a cooldown).
        context: String,
        /// The upstream's error.
        #[source]
        source: UpstreamError,
    },
    /// The request this one joined (another caller's, maybe in another process) failed
    /// with this message.
    #[error("the joined request failed: {0}")]
    JoinedFailed(String),
    /// A joined job vanished after this request's upstream call was already used (a
    /// defect: the call is made at most once).
    #[error("the upstream call was already used")]
    UpstreamUsed,
    /// Every attempt joined a job that was abandoned or vanished.
    #[error("request for `{endpoint}` not answered after {attempts} attempts")]
    Unanswered {
        /// The endpoint.
        endpoint: String,
        /// The attempts made.
        attempts: u32,
    },
}

/// `error` and its sources, joined by ": " (the message a failed job hands its joiners).
pub(super) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !message.ends_with(&next) {
            message.push_str(": ");
            message.push_str(&next);
        }
        source = e.source();
    }
    message
}

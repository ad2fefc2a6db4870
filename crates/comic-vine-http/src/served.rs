//! How a response was served: the [`Served`] extension, the served-by header and
//! [`ResponseExt`] to read them.

use std::time::Duration;

use comic_vine_store::pipeline::{ServedBy, StaleReason};

/// The response header naming who served a response from the pipeline: `cache`,
/// `dedupe-join`, `upstream`, `revalidated` or `stale`.
pub const SERVED_BY_HEADER: &str = "x-served-by";

/// How the pipeline served a response (a response extension, next to [`ServedBy`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served {
    /// Who answered.
    pub by: ServedBy,
    /// Rate-limit denials the owner waited out before calling upstream.
    pub rate_limit_waits: u32,
    /// Whether a shared store was unavailable and the pipeline's outage fallback served.
    pub degraded: bool,
    /// How old the answer is (the cache entry's age; zero when fetched for this
    /// request), also sent as the `Age` header.
    pub age: Duration,
    /// Why a stale entry answered (`Some` exactly when `by` is `Stale`).
    pub stale: Option<StaleReason>,
}

/// The value of [`SERVED_BY_HEADER`] for `served_by`.
pub fn served_by_name(served_by: ServedBy) -> &'static str {
    match served_by {
        ServedBy::Cache => "cache",
        ServedBy::DedupeJoin => "dedupe-join",
        ServedBy::Upstream => "upstream",
        ServedBy::Revalidated => "revalidated",
        ServedBy::Stale => "stale",
    }
}

/// Reads how an `http::Response` was served. Both are `None` for responses that did
/// not come out of the pipeline (other methods, or the owner's own non-2xx answer).
pub trait ResponseExt {
    /// Who answered.
    fn served_by(&self) -> Option<ServedBy>;
    /// Who answered, the owner's waits and whether the pipeline was degraded.
    fn served(&self) -> Option<Served>;
}

impl<B> ResponseExt for http::Response<B> {
    fn served_by(&self) -> Option<ServedBy> {
        self.extensions().get::<ServedBy>().copied()
    }

    fn served(&self) -> Option<Served> {
        self.extensions().get::<Served>().copied()
    }
}

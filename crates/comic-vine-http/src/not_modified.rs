//! A `304` as the owner's upstream call gets it: one that validates the stale entry
//! refreshes it with the freshness of the merged headers (RFC 9111 §4.3.4); one that
//! validates nothing is not for a caller whose own request was not conditional.

use std::time::SystemTime;

use comic_vine_store::pipeline::{EntryPolicy as _, UpstreamError};
use http::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH};
use http::{HeaderMap, StatusCode};

use crate::execute::{NotShared, Unshared};
use crate::http_pipeline::Prepared;
use crate::{CachedResponse, HttpEntryPolicy, HttpPipeline};

/// Where [`HttpPipeline::fetch`] leaves what it does not hand the pipeline: the
/// owner's unshared answer, and the stored entry a `304` refreshed.
pub(crate) type Out<'a, R, E> = (
    &'a mut Option<Unshared<R, E>>,
    &'a mut Option<CachedResponse>,
);

impl HttpPipeline {
    /// A `304` that validates `stored`: the entry merged with its `headers` (RFC 9111
    /// §4.3.4), kept in `revalidated` for this caller, and the freshness the merged
    /// headers give and the merged response's metadata ([`CachedResponse::meta`]: all
    /// but the body), for the pipeline's `touch_with_meta`. The body is not rewritten:
    /// later answers from the cache carry the merged headers and validators over the
    /// stored body. A `304` whose merged headers forbid storing answers once, uncached.
    pub(crate) fn not_modified<R, E>(
        &self,
        prepared: &Prepared,
        stored: &CachedResponse,
        headers: &HeaderMap,
        unshared: &mut Option<Unshared<R, E>>,
        revalidated: &mut Option<CachedResponse>,
    ) -> UpstreamError {
        let (mut parts, ()) = http::Response::new(()).into_parts();
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers = headers.clone();
        let merged = self.merge_not_modified(stored, &parts, &prepared.headers, SystemTime::now());
        match merged.freshness {
            Ok(f) => {
                let response = merged.response.with_freshness(f);
                let default = self.pipeline.config().freshness();
                let freshness = HttpEntryPolicy.freshness(&response, default);
                let meta = Some(response.meta());
                *revalidated = Some(response);
                UpstreamError::NotModifiedFor { freshness, meta }
            }
            Err(reason) => {
                tracing::debug!(endpoint = %prepared.endpoint, %reason, "a 304 whose headers forbid storing");
                *unshared = Some(Unshared::Read(Box::new(merged.response)));
                UpstreamError::Failed(Box::new(NotShared::Unstorable(reason.to_string())))
            }
        }
    }
}

/// Whether the caller's own request is conditional (its `304` is for it).
pub(crate) fn caller_conditional(headers: &HeaderMap) -> bool {
    headers.contains_key(IF_NONE_MATCH) || headers.contains_key(IF_MODIFIED_SINCE)
}

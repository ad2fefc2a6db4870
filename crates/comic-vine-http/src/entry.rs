//! The stored answer's own freshness as the pipeline's [`EntryPolicy`]: the RFC 9111
//! lifetime becomes the entry's freshness, `stale-while-revalidate`/`stale-if-error`
//! widen the stale windows, `must-revalidate` (and `no-cache`, `s-maxage`) turn stale
//! serving off; an entry with validators is kept past its freshness to be
//! revalidated; an answer that says nothing gets the configured TTL and policy.

use std::time::Duration;

use comic_vine_store::pipeline::{EntryPolicy, StalePolicy};

use crate::CachedResponse;
use crate::freshness::Freshness;

/// The longest lifetime, and the longest stale window, taken from upstream's headers
/// (7 days; the cache stores refuse an entry kept past their maximum TTL, 30 days by
/// default, so a hostile `max-age` is capped here rather than failing the store).
pub const MAX_HTTP_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long past its freshness an entry with validators (`ETag`, `Last-Modified`) is
/// kept for revalidation when neither the configured policy nor its headers keep it
/// stale (it is not served stale for that: only revalidated).
pub const REVALIDATION_KEEP: Duration = Duration::from_secs(3600);

/// The [`EntryPolicy`] of an [`HttpPipeline`](crate::HttpPipeline)'s pipeline.
#[derive(Clone, Copy, Debug, Default)]
pub struct HttpEntryPolicy;

impl EntryPolicy<CachedResponse> for HttpEntryPolicy {
    fn freshness(
        &self,
        value: &CachedResponse,
        default: comic_vine_store::Freshness,
    ) -> comic_vine_store::Freshness {
        let Some(f) = value.freshness() else {
            return default;
        };
        let fresh_for = f
            .fresh_for
            .map(|d| d.min(MAX_HTTP_LIFETIME))
            .or(default.fresh_for);
        let windows = f
            .stale_while_revalidate
            .max(f.stale_if_error)
            .min(MAX_HTTP_LIFETIME);
        let mut stale_for = default.stale_for.max(windows);
        let validators = value.etag().is_some() || value.last_modified().is_some();
        if validators && stale_for.is_zero() {
            stale_for = REVALIDATION_KEEP;
        }
        comic_vine_store::Freshness {
            fresh_for,
            stale_for,
        }
    }

    /// The headers, validators and freshness a `304` stored as the entry's metadata,
    /// over the stored body; a metadata that does not read leaves the response as
    /// stored.
    fn with_meta(&self, value: CachedResponse, meta: &serde_json::Value) -> CachedResponse {
        match value.clone().with_meta(meta) {
            Ok(amended) => amended,
            Err(e) => {
                tracing::warn!(error = %e, "a cache entry's metadata does not read: ignored");
                value
            }
        }
    }

    fn stale_policy(&self, value: &CachedResponse, default: StalePolicy) -> StalePolicy {
        match value.freshness() {
            None => default,
            Some(f) if f.must_revalidate => StalePolicy::none(),
            Some(f) => stale_windows(&f, default),
        }
    }
}

/// `default` widened by the response's own stale windows.
fn stale_windows(f: &Freshness, default: StalePolicy) -> StalePolicy {
    StalePolicy {
        stale_while_revalidate: default
            .stale_while_revalidate
            .max(f.stale_while_revalidate.min(MAX_HTTP_LIFETIME)),
        stale_if_error: default
            .stale_if_error
            .max(f.stale_if_error.min(MAX_HTTP_LIFETIME)),
        ..default
    }
}

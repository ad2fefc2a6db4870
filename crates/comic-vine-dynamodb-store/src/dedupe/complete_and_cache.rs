//! `complete_and_cache` into the store's own cache: the job is completed first (one
//! owner-conditional UpdateItem, the result named as the cache entry), then the entry is
//! published (one PutItem that never replaces a newer entry). Waiters take a completed
//! job's value from the entry only once an entry at least as new as the completion is
//! there (see `waiting.rs`), so none sees a completed job without its value, and a
//! refused owner writes no entry.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_store::cache::writes_reach;
use comic_vine_store::cell::jobs::Expected;
use comic_vine_store::{CacheStore, EntryTimes, Freshness, JobId, StoreError, StoreResult};

use super::{DynamoDbDedupeStore, Jobs};
use crate::attributes::job::{COMPLETED, FINISHED_AT, IN_CACHE, STATUS};
use crate::item;
use crate::table::TTL;
use aws_sdk_dynamodb::types::AttributeValue;

/// `complete_and_cache` leaves the result in the cache entry only when the entry
/// outlives the job's result grace by this much.
pub(super) const CACHED_RESULT_MARGIN: Duration = Duration::from_secs(60);

impl<V> DynamoDbDedupeStore<V> {
    /// The times of the entry a complete-and-cache into `cache` with `freshness` writes,
    /// with the cache's inline limit, if `cache` is this store's own (the instance it
    /// was built with) and the entry outlives the job's result grace; `None` for
    /// `set_entry` then `complete`.
    pub(super) fn cached_result_times(
        &self,
        cache: &dyn CacheStore<V>,
        freshness: Freshness,
    ) -> StoreResult<Option<(EntryTimes, usize)>> {
        let Some(own) = self
            .cache
            .as_ref()
            .filter(|own| writes_reach(cache, Arc::as_ptr(own).cast()))
        else {
            return Ok(None);
        };
        let grace = self.jobs.config.result_grace;
        let times = own.times_now(freshness)?.filter(|t| {
            t.stale_until
                >= t.stored_at
                    .saturating_add(grace.saturating_add(CACHED_RESULT_MARGIN))
        });
        Ok(times.map(|t| (t, own.inline_limit())))
    }
}

impl Jobs {
    /// Completes the caller's job with its result in the cache entry of `hash`, then
    /// publishes that entry (value `json` with `times`, chunked over `inline_limit`; the
    /// completion is stamped with the entry's `stored_at`). A chunked value's chunks are written first; a refused owner's
    /// are removed again and it writes no entry. An entry newer than the completion is
    /// left in place.
    pub(super) async fn complete_in_cache(
        &self,
        hash: &str,
        job_id: &JobId,
        json: Vec<u8>,
        times: EntryTimes,
        inline_limit: usize,
    ) -> StoreResult<()> {
        let entries = self.entries();
        let now = times.stored_at;
        let prepared = entries
            .prepare_entry(hash, json, times, inline_limit)
            .await?;
        let set = vec![
            (STATUS, item::s(COMPLETED)),
            (FINISHED_AT, item::n(now.as_millis())),
            (TTL, item::n(self.finished_expiry(now).as_secs_ceil())),
            (IN_CACHE, AttributeValue::Bool(true)),
        ];
        let refused = match self
            .update_expected(hash, &Expected::owner(job_id), set)
            .await
        {
            Ok(true) => None,
            Ok(false) => Some(StoreError::NotJobOwner {
                hash: hash.to_owned(),
                job_id: job_id.to_string(),
            }),
            Err(e) => Some(e),
        };
        if let Some(refused) = refused {
            if let Some(version) = &prepared.version {
                entries.discard(hash, version).await;
            }
            return Err(refused);
        }
        if !entries.store(hash, prepared, Some(now)).await? {
            tracing::debug!(
                hash,
                "a newer cache entry was there; the completed job's waiters take it"
            );
        }
        Ok(())
    }
}

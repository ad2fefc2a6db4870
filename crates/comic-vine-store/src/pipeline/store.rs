//! The writing steps: store the owner's value (and complete its job), fail its job,
//! refresh an entry upstream confirmed, and cool a resource down after a 429/420.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Pipeline, PipelineError, Shared};
use crate::cache::{CacheEntry, Freshness};
use crate::dedupe::JobId;
use crate::error::StoreError;

impl<V> Pipeline<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Caches the owner's value and completes its job, in one write when the backend
    /// can. A job lost meanwhile (its lease ran out) is logged: the caller still gets
    /// the value.
    pub(super) async fn store(
        &self,
        hash: &str,
        job: Option<&JobId>,
        value: &V,
        degraded: &mut bool,
    ) -> Result<(), StoreError> {
        let freshness = self.freshness_of(value);
        let stored = match (&self.cache, &self.dedupe, job) {
            (Some(cache), Some(dedupe), Some(job)) => {
                dedupe
                    .complete_and_cache_entry(hash, job, value, cache.as_ref(), freshness)
                    .await
            }
            (None, Some(dedupe), Some(job)) => dedupe.complete(hash, job, value).await,
            (Some(cache), _, _) => cache.set_entry(hash, value, freshness).await,
            (None, _, _) => Ok(()),
        };
        self.written("cache set", hash, stored, degraded)
    }

    /// Fails the owner's job with `error` (and its sources), so joiners stop waiting.
    pub(super) async fn fail(
        &self,
        hash: &str,
        job: Option<&JobId>,
        error: &PipelineError,
    ) -> Result<(), StoreError> {
        if let (Some(dedupe), Some(job)) = (&self.dedupe, job) {
            let failed = dedupe.fail(hash, job, &super::error::chain(error)).await;
            // Down: the job's lease runs out and a later caller takes over.
            self.shared("dedupe fail", failed)?;
        }
        Ok(())
    }

    /// Upstream confirmed `entry`, the cached entry of `hash`: restamps it fresh, with
    /// the freshness upstream gave (`confirmed.0`) if any, else its value's, and
    /// replaces its metadata with `confirmed.1` if given (one small write; the value is
    /// rewritten, amended by the new metadata, only if the backend cannot restamp it)
    /// and ends the job so its joiners look again and read it from the cache (without a
    /// cache, the job hands them the value). Returns the entry as amended.
    pub(super) async fn revalidate(
        &self,
        hash: &str,
        job: Option<&JobId>,
        mut entry: CacheEntry<V>,
        confirmed: (Option<Freshness>, Option<serde_json::Value>),
        degraded: &mut bool,
    ) -> Result<CacheEntry<V>, StoreError> {
        let (freshness, meta) = confirmed;
        if let Some(meta) = &meta {
            entry = self.amended(entry.with_meta(Some(meta.clone())));
        }
        if let Some(cache) = &self.cache {
            let freshness = freshness.unwrap_or_else(|| self.freshness_of(&entry.value));
            let touch = match &meta {
                Some(meta) => match cache.touch_with_meta(hash, freshness, meta).await {
                    Err(StoreError::MetaTooLarge { size, limit, .. }) => {
                        tracing::debug!(
                            hash,
                            size,
                            limit,
                            "metadata too large: rewriting the value"
                        );
                        Ok(false)
                    }
                    touched => touched,
                },
                None => cache.touch(hash, freshness).await,
            };
            let touched = match self.shared("cache touch", touch)? {
                Shared::Answered(touched) => touched,
                Shared::Down(_) => {
                    *degraded = true;
                    true
                }
            };
            if !touched {
                let rewritten = cache.set_entry(hash, &entry.value, freshness).await;
                self.written("cache set", hash, rewritten, degraded)?;
            }
        }
        if let (Some(dedupe), Some(job)) = (&self.dedupe, job) {
            let finished = if self.cache.is_some() {
                // Joiners read the restamped entry from the cache: the job does not carry
                // the value (that would rewrite the body the 304 spared).
                dedupe.fail(hash, job, super::refresh::REVALIDATED).await
            } else {
                dedupe.complete(hash, job, &entry.value).await
            };
            self.written("dedupe complete", hash, finished, degraded)?;
        }
        Ok(entry)
    }

    /// Sorts the answer of a write: a lost job is logged, an outage degrades.
    fn written(
        &self,
        step: &str,
        hash: &str,
        answer: Result<(), StoreError>,
        degraded: &mut bool,
    ) -> Result<(), StoreError> {
        match answer {
            Err(StoreError::NotJobOwner { .. }) => {
                tracing::warn!(
                    hash,
                    "the job was taken over before it completed; its value is not cached"
                );
                Ok(())
            }
            answer => {
                if let Shared::Down(_) = self.shared(step, answer)? {
                    *degraded = true;
                }
                Ok(())
            }
        }
    }

    /// Stops calls to `resource` for `retry_after` (or the default cooldown), returned:
    /// fleet-wide through the shared limiter, and in this process through the
    /// fallback's (kept for when the shared one is down).
    pub(super) async fn cool_down(
        &self,
        resource: &str,
        retry_after: Option<Duration>,
        degraded: &mut bool,
    ) -> Result<Duration, StoreError> {
        let wait = retry_after.unwrap_or(self.config.default_cooldown);
        let until = self.clock.now().saturating_add(wait);
        if let Some(fallback) = &self.fallback {
            fallback.limiter.cooldown(resource, until).await?;
        }
        if let Some(limiter) = &self.limiter {
            if let Shared::Down(_) =
                self.shared("cooldown", limiter.cooldown(resource, until).await)?
            {
                *degraded = true;
            }
            tracing::warn!(
                resource,
                ?wait,
                "upstream rate limited: fleet-wide cooldown"
            );
        }
        Ok(wait)
    }
}

//! Stale-while-revalidate: one background refresh per key, across the fleet.
//!
//! A caller answered from a stale entry starts [`Pipeline::spawn_refresh`] and returns.
//! In this process at most one refresh per key runs at a time; across processes the
//! dedupe store's `register_or_join` lets one owner through and the others stop. The
//! owner looks at the cache once more (another process may have refreshed it), takes a
//! rate limit slot at [`Priority::Background`](crate::Priority::Background) only if one
//! is free now (it never waits, and so never takes a user's slot), calls the
//! [`Refresher`] and stores the value.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use super::{Pipeline, Request, UpstreamError};
use crate::dedupe::{JobId, Registration};
use crate::error::StoreError;

/// The failure message of a refresh job skipped for want of a background slot: a caller
/// that joined it tries again rather than failing.
pub(super) const SKIPPED: &str = "background refresh skipped: rate limit budget spent";

/// The outcome of a job whose owner revalidated the cached entry (a 304): a caller that
/// joined it looks at the cache again, where the entry is fresh.
pub(super) const REVALIDATED: &str = "revalidated: the cached entry is fresh again";

/// The future a [`Refresher`] returns: owns everything it needs.
pub type RefreshFuture<V> = Pin<Box<dyn Future<Output = Result<V, UpstreamError>> + Send>>;

/// Fetches a request again for a background refresh (stale-while-revalidate). Unlike
/// the upstream call given to `execute`, which may borrow from its caller, a refresh
/// outlives the request that started it, so its future owns what it needs.
///
/// Any `Fn(&Request, Option<&V>) -> RefreshFuture<V>` is one; `cached` is the stale
/// value, from which an HTTP layer takes its validators (answer
/// [`UpstreamError::NotModified`] to keep it).
pub trait Refresher<V>: Send + Sync {
    /// The call that refreshes `request`.
    fn fetch(&self, request: &Request, cached: Option<&V>) -> RefreshFuture<V>;
}

impl<V, F> Refresher<V> for F
where
    F: Fn(&Request, Option<&V>) -> RefreshFuture<V> + Send + Sync,
{
    fn fetch(&self, request: &Request, cached: Option<&V>) -> RefreshFuture<V> {
        self(request, cached)
    }
}

/// The keys this process is refreshing.
#[derive(Default)]
pub(super) struct InFlight {
    keys: Mutex<HashSet<String>>,
    idle: Notify,
}

impl InFlight {
    /// Claims `hash`; `None` if a refresh of it is already running here.
    fn claim(self: &Arc<Self>, hash: &str) -> Option<Claim> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.insert(hash.to_owned()).then(|| Claim {
            in_flight: Arc::clone(self),
            hash: hash.to_owned(),
        })
    }

    /// Waits until no refresh runs in this process.
    pub(super) async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self
                .keys
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_empty()
            {
                return;
            }
            notified.await;
        }
    }
}

/// A running refresh of one key; released when dropped.
struct Claim {
    in_flight: Arc<InFlight>,
    hash: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut keys = self
            .in_flight
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        keys.remove(&self.hash);
        if keys.is_empty() {
            self.in_flight.idle.notify_waiters();
        }
    }
}

impl<V> Pipeline<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Starts a background refresh of `request` (whose stale value is `cached`), unless
    /// one already runs in this process. Returns whether one was started; `false`
    /// without a [`Refresher`].
    pub(super) fn spawn_refresh(&self, request: &Request, hash: &str, cached: &V) -> bool {
        let Some(refresher) = &self.refresher else {
            return false;
        };
        let Some(claim) = self.in_flight.claim(hash) else {
            return true;
        };
        let fetch = refresher.fetch(request, Some(cached));
        let (pipeline, request) = (self.clone(), request.clone());
        tokio::spawn(async move {
            if let Err(e) = pipeline.refresh(&request, &claim.hash, fetch).await {
                tracing::warn!(endpoint = %request.endpoint, error = %e, "background refresh failed");
            }
        });
        true
    }

    /// The refresh itself (see the module docs).
    async fn refresh(
        &self,
        r: &Request,
        hash: &str,
        fetch: RefreshFuture<V>,
    ) -> Result<(), StoreError> {
        let job = match &self.dedupe {
            Some(dedupe) => match dedupe.register_or_join(hash).await? {
                Registration::Owner { job_id, .. } => Some(job_id),
                Registration::Joined { .. } => return Ok(()),
            },
            None => None,
        };
        let refreshed = self.refresh_owned(r, hash, job.as_ref(), fetch).await;
        if let Err(e) = &refreshed {
            // Release the job at once rather than at the end of its lease.
            let message = format!("background refresh failed: {e}");
            if let Err(e) = self.finish(hash, job.as_ref(), Err(&message)).await {
                tracing::debug!(hash, error = %e, "could not fail the refresh's job");
            }
        }
        refreshed
    }

    /// The refresh as the job's owner (`job`: `None` without a dedupe store).
    async fn refresh_owned(
        &self,
        r: &Request,
        hash: &str,
        job: Option<&JobId>,
        fetch: RefreshFuture<V>,
    ) -> Result<(), StoreError> {
        let entry = match &self.cache {
            Some(cache) => cache.get_entry(hash).await?.map(|e| self.amended(e)),
            None => None,
        };
        if let Some(entry) = entry.as_ref().filter(|e| e.is_fresh(self.clock.now())) {
            // Refreshed by another process meanwhile: hand its value to our joiners.
            return self.finish(hash, job, Ok(&entry.value)).await;
        }
        if !self.try_background(r).await? {
            tracing::debug!(endpoint = %r.endpoint, "background refresh skipped: rate limit budget spent");
            metrics::counter!("comic_vine_pipeline_refreshes_total", "outcome" => "skipped")
                .increment(1);
            return self.finish(hash, job, Err(SKIPPED)).await;
        }
        metrics::counter!("comic_vine_pipeline_refreshes_total", "outcome" => "called")
            .increment(1);
        let mut degraded = false;
        match fetch.await {
            Ok(value) => self.store(hash, job, &value, &mut degraded).await,
            Err(mut e) if e.not_modified().is_some() => match entry {
                Some(entry) => {
                    let confirmed = (e.not_modified().flatten(), e.not_modified_meta());
                    self.revalidate(hash, job, entry, confirmed, &mut degraded)
                        .await
                        .map(drop)
                }
                None => {
                    let message = UpstreamError::NotModified.to_string();
                    self.finish(hash, job, Err(&message)).await
                }
            },
            Err(e) => {
                if let UpstreamError::RateLimited { retry_after } = &e {
                    self.cool_down(&r.resource, *retry_after, &mut degraded)
                        .await?;
                }
                let message = super::error::chain(&e);
                self.finish(hash, job, Err(&message)).await
            }
        }
    }

    /// Completes (with `outcome`'s value) or fails the refresh's job, if it has one.
    async fn finish(
        &self,
        hash: &str,
        job: Option<&JobId>,
        outcome: Result<&V, &str>,
    ) -> Result<(), StoreError> {
        match (&self.dedupe, job, outcome) {
            (Some(dedupe), Some(job), Ok(value)) => dedupe.complete(hash, job, value).await,
            (Some(dedupe), Some(job), Err(message)) => dedupe.fail(hash, job, message).await,
            _ => Ok(()),
        }
    }
}

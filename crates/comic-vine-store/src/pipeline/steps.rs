//! The named steps of [`Pipeline::execute_revalidating`]: look up the cache, serve
//! stale when the budget is spent, join or own the dedupe job, and, as the owner,
//! acquire a slot, call upstream and store — or give up, stale within the policy.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::refresh::{REVALIDATED, SKIPPED};
use super::{
    Pipeline, PipelineError, Request, Response, ServedBy, Shared, StalePolicy, StaleReason,
    UpstreamError,
};
use crate::cache::CacheEntry;
use crate::clock::Timestamp;
use crate::dedupe::{JobId, JobOutcome, Registration, Seen};

/// What the cache step found.
pub(super) enum Looked<V> {
    /// A fresh entry, or a stale one answered while a refresh runs.
    Answer(Response<V>),
    /// No entry fit to answer now; maybe a stale one to fall back on.
    Stale(Option<CacheEntry<V>>),
}

/// What the dedupe step decided.
pub(super) enum Joined<V> {
    /// Another caller's job answered (or failed, and a stale entry answered).
    Answer(Response<V>),
    /// The joined job was abandoned, vanished or skipped: look again.
    Retry,
    /// This caller owns the job (`None` without a dedupe store, or while it is down).
    Owner(Option<JobId>),
}

/// A response, counted by who served it.
fn answer<V>(
    value: V,
    served_by: ServedBy,
    age: Duration,
    waits: u32,
    degraded: bool,
) -> Response<V> {
    let stale = None;
    let name = match served_by {
        ServedBy::Cache => "cache",
        ServedBy::DedupeJoin => "dedupe_join",
        ServedBy::Upstream => "upstream",
        ServedBy::Revalidated => "revalidated",
        ServedBy::Stale => "stale",
    };
    metrics::counter!("comic_vine_pipeline_answers_total", "served_by" => name).increment(1);
    Response {
        value,
        served_by,
        rate_limit_waits: waits,
        degraded,
        age,
        stale,
    }
}

impl<V> Pipeline<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// `entry`, answered stale for `reason`.
    fn serve_stale(
        &self,
        entry: CacheEntry<V>,
        reason: StaleReason,
        degraded: bool,
    ) -> Response<V> {
        let now = self.clock.now();
        tracing::debug!(?reason, staleness = ?entry.staleness(now), "answered from a stale cache entry");
        let age = entry.age(now);
        Response {
            stale: Some(reason),
            ..answer(entry.value, ServedBy::Stale, age, 0, degraded)
        }
    }

    /// The stale entry, taken if it has been stale for less than `window`.
    fn take_within(
        &self,
        stale: &mut Option<CacheEntry<V>>,
        window: Duration,
    ) -> Option<CacheEntry<V>> {
        let now = self.clock.now();
        stale.take_if(|e| StalePolicy::within(e, now, window))
    }

    /// Cache: a fresh entry answers; a stale one within `stale_while_revalidate`
    /// answers while a background refresh runs; any other live one is kept.
    pub(super) async fn look_up(
        &self,
        r: &Request,
        hash: &str,
        degraded: &mut bool,
    ) -> Result<Looked<V>, PipelineError> {
        let Some(cache) = &self.cache else {
            return Ok(Looked::Stale(None));
        };
        let entry = match self.shared("cache get", cache.get_entry(hash).await)? {
            Shared::Answered(entry) => entry,
            Shared::Down(_) => {
                *degraded = true;
                None
            }
        };
        let Some(entry) = entry.map(|e| self.amended(e)) else {
            return Ok(Looked::Stale(None));
        };
        let now = self.clock.now();
        if entry.is_fresh(now) {
            let age = entry.age(now);
            return Ok(Looked::Answer(answer(
                entry.value,
                ServedBy::Cache,
                age,
                0,
                *degraded,
            )));
        }
        let swr = self.stale_of(&entry.value).stale_while_revalidate;
        if StalePolicy::within(&entry, now, swr) && self.spawn_refresh(r, hash, &entry.value) {
            let reason = StaleReason::WhileRevalidate;
            return Ok(Looked::Answer(self.serve_stale(entry, reason, *degraded)));
        }
        Ok(Looked::Stale(Some(entry)))
    }

    /// Stale policy: a stale entry within `stale_if_rate_limited` answers when a slot
    /// is further away than `max_wait` (asked without taking one).
    pub(super) async fn if_budget_spent(
        &self,
        r: &Request,
        stale: &mut Option<CacheEntry<V>>,
        degraded: &mut bool,
    ) -> Result<Option<Response<V>>, PipelineError> {
        let window = self.stale_of_entry(stale.as_ref()).stale_if_rate_limited;
        let now = self.clock.now();
        if !stale
            .as_ref()
            .is_some_and(|e| StalePolicy::within(e, now, window))
            || !self.budget_spent(r, degraded).await?
        {
            return Ok(None);
        }
        Ok(self
            .take_within(stale, window)
            .map(|e| self.serve_stale(e, StaleReason::RateLimited, *degraded)))
    }

    /// Dedupe: own the job, or join it and take its outcome (a failure answers with a
    /// stale entry within `stale_if_error`).
    pub(super) async fn join(
        &self,
        hash: &str,
        looked_at: Timestamp,
        stale: &mut Option<CacheEntry<V>>,
        degraded: &mut bool,
    ) -> Result<Joined<V>, PipelineError> {
        let Some(dedupe) = &self.dedupe else {
            return Ok(Joined::Owner(None));
        };
        // A finished job is not joined for a result this caller already holds (its stale
        // entry), nor for one whose entry the cache no longer has (deleted, purged).
        let seen = match stale.as_ref() {
            Some(entry) => Some(Seen::Stale(entry.stored_at)),
            None if self.cache.is_some() && !*degraded => Some(Seen::Nothing(looked_at)),
            None => None,
        };
        let registered = match seen {
            Some(seen) => dedupe.register_or_join_after(hash, seen).await,
            None => dedupe.register_or_join(hash).await,
        };
        match self.shared("dedupe register", registered)? {
            Shared::Answered(Registration::Owner { job_id, .. }) => {
                return Ok(Joined::Owner(Some(job_id)));
            }
            Shared::Answered(Registration::Joined { .. }) => {}
            Shared::Down(_) => {
                *degraded = true;
                return Ok(Joined::Owner(None));
            }
        }
        Ok(
            match self.shared("dedupe wait", dedupe.wait_for(hash).await)? {
                Shared::Answered(JobOutcome::Completed(value)) => Joined::Answer(answer(
                    value,
                    ServedBy::DedupeJoin,
                    Duration::ZERO,
                    0,
                    *degraded,
                )),
                Shared::Answered(JobOutcome::Failed(message))
                    if message == SKIPPED || message == REVALIDATED =>
                {
                    Joined::Retry
                }
                Shared::Answered(JobOutcome::Failed(message)) => {
                    let window = self.stale_of_entry(stale.as_ref()).stale_if_error;
                    match self.take_within(stale, window) {
                        Some(e) => {
                            Joined::Answer(self.serve_stale(e, StaleReason::Error, *degraded))
                        }
                        None => return Err(PipelineError::JoinedFailed(message)),
                    }
                }
                // Abandoned, gone, timed out or unreachable: look again (maybe take over,
                // maybe degraded).
                Shared::Answered(_) => Joined::Retry,
                Shared::Down(_) => {
                    *degraded = true;
                    Joined::Retry
                }
            },
        )
    }

    /// As the owner: acquire a slot, call upstream, store the value (or restamp the
    /// entry upstream confirmed); on failure give up, stale within the policy.
    pub(super) async fn own<F, Fut>(
        &self,
        r: &Request,
        hash: &str,
        job: Option<JobId>,
        mut stale: Option<CacheEntry<V>>,
        upstream: F,
        mut degraded: bool,
    ) -> Result<Response<V>, PipelineError>
    where
        F: FnOnce(Option<&V>) -> Fut,
        Fut: Future<Output = Result<V, UpstreamError>>,
    {
        let policy = self.stale_of_entry(stale.as_ref());
        let job = job.as_ref();
        let waits = match self.acquire(r, &mut degraded).await {
            Ok(waits) => waits,
            Err(e) => {
                let (window, reason) = (policy.stale_if_rate_limited, StaleReason::RateLimited);
                return self
                    .give_up(hash, job, e, &mut stale, window, reason, degraded)
                    .await;
            }
        };
        let called = upstream(stale.as_ref().map(|e| &e.value)).await;
        let (context, source, window, reason) = match (called, stale.take()) {
            (Ok(value), _) => {
                self.store(hash, job, &value, &mut degraded).await?;
                let (by, age) = (ServedBy::Upstream, Duration::ZERO);
                return Ok(answer(value, by, age, waits, degraded));
            }
            (Err(mut e), Some(entry)) if e.not_modified().is_some() => {
                let confirmed = (e.not_modified().flatten(), e.not_modified_meta());
                let entry = self
                    .revalidate(hash, job, entry, confirmed, &mut degraded)
                    .await?;
                let (by, age) = (ServedBy::Revalidated, Duration::ZERO);
                return Ok(answer(entry.value, by, age, waits, degraded));
            }
            (Err(e @ UpstreamError::RateLimited { retry_after }), entry) => {
                stale = entry;
                let wait = self
                    .cool_down(&r.resource, retry_after, &mut degraded)
                    .await?;
                let context = format!(
                    "upstream rate limited `{}`; cooling down for {wait:?}",
                    r.resource
                );
                let (window, reason) = (policy.stale_if_rate_limited, StaleReason::RateLimited);
                (context, e, window, reason)
            }
            (Err(e), entry) => {
                stale = entry;
                let context = format!("upstream call for `{}` failed", r.endpoint);
                (context, e, policy.stale_if_error, StaleReason::Error)
            }
        };
        let error = PipelineError::Upstream { context, source };
        self.give_up(hash, job, error, &mut stale, window, reason, degraded)
            .await
    }

    /// Fails the owner's job with `error`; answers the stale entry if it is within
    /// `window`, else the error.
    #[allow(clippy::too_many_arguments)]
    async fn give_up(
        &self,
        hash: &str,
        job: Option<&JobId>,
        error: PipelineError,
        stale: &mut Option<CacheEntry<V>>,
        window: Duration,
        reason: StaleReason,
        degraded: bool,
    ) -> Result<Response<V>, PipelineError> {
        self.fail(hash, job, &error).await?;
        match self.take_within(stale, window) {
            Some(entry) => Ok(self.serve_stale(entry, reason, degraded)),
            None => Err(error),
        }
    }
}

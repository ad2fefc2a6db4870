//! The request deduplication contract.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::cache::{CacheStore, Freshness};
use crate::clock::Timestamp;
use crate::error::StoreResult;

/// Identifies one job (one owner's attempt at one request hash).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(String);

impl JobId {
    /// A fresh random job id.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Wraps an existing id (e.g. one read back from storage).
    pub fn from_string(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The answer of [`DedupeStore::register_or_join`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registration {
    /// The caller owns the job: it must do the work and `complete` or `fail` it.
    Owner {
        /// The caller's job.
        job_id: JobId,
        /// Whether the caller took over a job whose previous owner's lease expired.
        took_over: bool,
    },
    /// Another caller owns a pending (or just finished) job; wait for its outcome.
    Joined {
        /// The job joined.
        job_id: JobId,
    },
}

impl Registration {
    /// The job registered or joined.
    pub fn job_id(&self) -> &JobId {
        match self {
            Self::Owner { job_id, .. } | Self::Joined { job_id } => job_id,
        }
    }

    /// Whether the caller became the owner.
    pub fn is_owner(&self) -> bool {
        matches!(self, Self::Owner { .. })
    }
}

/// How a wait for a job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome<V> {
    /// The owner completed the job with this value.
    Completed(V),
    /// The owner failed the job with this message.
    Failed(String),
    /// The owner's lease expired without a result: call `register_or_join` to take over.
    Abandoned,
    /// There is no job for this hash (never registered, or long finished).
    NotFound,
    /// The job was still pending when the wait's bound ran out.
    TimedOut,
}

impl<T> JobOutcome<T> {
    /// The same outcome with `f` applied to a completed job's value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> JobOutcome<U> {
        match self {
            Self::Completed(value) => JobOutcome::Completed(f(value)),
            Self::Failed(message) => JobOutcome::Failed(message),
            Self::Abandoned => JobOutcome::Abandoned,
            Self::NotFound => JobOutcome::NotFound,
            Self::TimedOut => JobOutcome::TimedOut,
        }
    }
}

/// The state of a job as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// An owner is working on it.
    Pending,
    /// Finished with a value.
    Completed,
    /// Finished with an error.
    Failed,
}

/// A snapshot of one job, for inspection (`cvstore dedupe status`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    /// The job's id.
    pub job_id: JobId,
    /// Its state.
    pub state: JobState,
    /// When it was registered.
    pub created_at: Timestamp,
    /// Until when the owner's lease runs (pending jobs).
    pub lease_until: Timestamp,
    /// When it finished, if it did.
    pub finished_at: Option<Timestamp>,
    /// The failure message of a failed job.
    pub error: Option<String>,
}

/// What a caller found in the cache before registering (see
/// [`DedupeStore::register_or_join_after`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A stale entry, stored at this time: a finished job registered at or before it is
    /// not joined (its result is no newer than the entry).
    Stale(Timestamp),
    /// No entry, at this time: a job that finished more than
    /// [`MISSED_ENTRY_MARGIN`](crate::algorithm::jobs::MISSED_ENTRY_MARGIN) before it is
    /// not joined (its entry should have been readable then, so it was removed: deleted,
    /// purged or cleared).
    Nothing(Timestamp),
}

/// Deduplication of identical in-flight requests across every process sharing a store.
///
/// Exactly one caller of [`register_or_join`](Self::register_or_join) becomes the owner
/// of a hash's job; the others join it and [`wait_for`](Self::wait_for) its outcome.
/// Only the owner of a pending job can `complete` or `fail` it. An owner that stops
/// extending its lease is presumed dead and the next caller takes over. A finished
/// result is handed to the job's waiters for a short grace, and is not served as a
/// cache after it.
#[async_trait]
pub trait DedupeStore<V>: Send + Sync {
    /// Atomically becomes the owner of `hash`'s job, or joins the job already pending.
    async fn register_or_join(&self, hash: &str) -> StoreResult<Registration>;

    /// As [`register_or_join`](Self::register_or_join), for a caller that looked in the
    /// cache first and `seen` what it found: a completed job whose result the caller
    /// already holds, or whose cache entry has since been removed, is not joined within
    /// its grace; the caller owns a new job instead
    /// ([`algorithm::jobs::claim_after`](crate::algorithm::jobs::claim_after)). The
    /// default ignores `seen`.
    async fn register_or_join_after(&self, hash: &str, seen: Seen) -> StoreResult<Registration> {
        let _ = seen;
        self.register_or_join(hash).await
    }

    /// Like [`register_or_join`](Self::register_or_join), returning only the job id
    /// (the original's `register`).
    async fn register(&self, hash: &str) -> StoreResult<JobId> {
        Ok(self.register_or_join(hash).await?.job_id().clone())
    }

    /// Finishes the caller's pending job with `value`; [`crate::StoreError::NotJobOwner`]
    /// if the caller does not own it (any more).
    async fn complete(&self, hash: &str, job_id: &JobId, value: &V) -> StoreResult<()>;

    /// Caches `value` in `cache` for `ttl` and finishes the caller's pending job with it,
    /// as [`CacheStore::set`] then [`complete`](Self::complete) would (the default does
    /// exactly that: two writes). A backend whose own cache is `cache` may override it to
    /// write both at once; the job's waiters then still receive `value`.
    async fn complete_and_cache(
        &self,
        hash: &str,
        job_id: &JobId,
        value: &V,
        cache: &dyn CacheStore<V>,
        ttl: Option<Duration>,
    ) -> StoreResult<()>
    where
        V: Sync,
    {
        cache.set(hash, value, ttl).await?;
        self.complete(hash, job_id, value).await
    }

    /// Like [`complete_and_cache`](Self::complete_and_cache), caching `value` with
    /// `freshness` (see [`CacheStore::set_entry`]). The default uses
    /// `complete_and_cache` when there is no stale horizon (so a backend's one-write path
    /// applies), and otherwise [`CacheStore::set_entry`] then [`complete`](Self::complete).
    async fn complete_and_cache_entry(
        &self,
        hash: &str,
        job_id: &JobId,
        value: &V,
        cache: &dyn CacheStore<V>,
        freshness: Freshness,
    ) -> StoreResult<()>
    where
        V: Sync,
    {
        if freshness.stale_for.is_zero() {
            return self
                .complete_and_cache(hash, job_id, value, cache, freshness.fresh_for)
                .await;
        }
        cache.set_entry(hash, value, freshness).await?;
        self.complete(hash, job_id, value).await
    }

    /// Finishes the caller's pending job with an error message that waiters receive.
    async fn fail(&self, hash: &str, job_id: &JobId, error: &str) -> StoreResult<()>;

    /// Extends the owner's lease by the configured lease length (a heartbeat).
    async fn extend_lease(&self, hash: &str, job_id: &JobId) -> StoreResult<()>;

    /// Whether a job for `hash` is pending with a live lease.
    async fn is_in_progress(&self, hash: &str) -> StoreResult<bool>;

    /// Waits (bounded by the configured job timeout) for the job of `hash` to finish.
    async fn wait_for(&self, hash: &str) -> StoreResult<JobOutcome<V>>;

    /// The job stored for `hash`, if any.
    async fn job(&self, hash: &str) -> StoreResult<Option<JobInfo>>;
}

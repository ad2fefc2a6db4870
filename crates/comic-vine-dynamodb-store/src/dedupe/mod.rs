//! [`DynamoDbDedupeStore`]: request deduplication on DynamoDB.
//!
//! Layout (see [`crate::keys`]): one item per request hash, `DEDUPE#<hash>` / `JOB`:
//!
//! | attribute ([`crate::attributes::job`]) | meaning |
//! |---|---|
//! | `job_id` | the job id (S) |
//! | `status` | `pending`, `completed` or `failed` (S) |
//! | `created_at` | registered at (ms) |
//! | `lease_until` | the owner's lease runs until (ms) |
//! | `finished_at` | finished at (ms; finished jobs) |
//! | `error` | the failure message (failed jobs) |
//! | `encoding`, `raw_len` | the result's encoding and JSON length (completed jobs) |
//! | `value` | the encoded result, when it fits in the item |
//! | `chunk_count` | else the number of chunks under `DEDUPECHUNK#<hash>`, version = job id |
//! | `in_cache` | true when the result is the cache entry of the same hash (`complete_and_cache`) |
//! | `TTL` | epoch seconds: lease end + job timeout for a pending job, end of the result grace for a finished one, plus a margin |
//!
//! The policy (who owns, who joins, what a waiter sees) is the core's
//! [`CellDedupeStore`]; `Jobs` is its `JobCell` on this layout: conditional writes
//! ("absent", "unchanged", "the job expected"), chunked results, results kept in the
//! cache entry, lost answers recognised by the job id or the values written.
//!
//! Requests: `register_or_join` of a free hash, or joining a live job, is one PutItem
//! (refused with the job, when there is one); taking over an expired lease or replacing
//! a finished job adds a second PutItem conditional on the job seen (and a Query and a
//! BatchWriteItem to remove result chunks the previous owner may have left);
//! `complete`, `fail` and `extend_lease` one conditional UpdateItem (a chunked result
//! adds its BatchWriteItems first); `complete_and_cache`
//! with this table's [`DynamoDbCacheStore`] one UpdateItem that completes the job with
//! its result named as the cache entry, then one PutItem of the entry (never over a
//! newer one), from which waiters read the value (a chunked value adds its chunk-set
//! PutItem and BatchWriteItems first); `is_in_progress`,
//! `job` and every poll of `wait_for` one strongly consistent GetItem (a chunked result
//! adds a Query). Concurrent `wait_for` calls on one hash through one store (or its
//! clones) share one poll loop.

mod builder;
mod cell;
mod complete_and_cache;
mod job_item;
mod register;
mod waiting;
mod writes;

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use comic_vine_store::cell::{CellDedupeStore, decode_outcome};
use comic_vine_store::clock::SharedClock;
use comic_vine_store::{
    CacheStore, DedupeConfig, DedupeStore, Freshness, JobId, JobInfo, JobOutcome, Registration,
    Seen, StoreResult, Timestamp, validate,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

pub use builder::{DedupeOnTable, DynamoDbDedupeStoreBuilder};

use crate::cache::{DynamoDbCacheStore, Entries};
use crate::chunks::Chunks;
use crate::handle::Table;
use crate::keys;
use crate::resilience::Gate;
use waiting::{Polls, deadline_after};

/// Items outlive the moment they stop mattering by this much (clock skew between hosts).
const TTL_MARGIN: Duration = Duration::from_secs(300);

/// A [`DedupeStore`] on a DynamoDB table.
///
/// ```no_run
/// use comic_vine_dynamodb_store::{DynamoDbConfig, DynamoDbDedupeStore};
/// use comic_vine_store::{DedupeStore, JobOutcome, Registration};
///
/// # async fn example() -> comic_vine_store::StoreResult<()> {
/// let table = DynamoDbConfig::builder().region("us-east-1").build()?.connect().await?;
/// let dedupe: DynamoDbDedupeStore = DynamoDbDedupeStore::new(&table);
/// match dedupe.register_or_join("request-hash").await? {
///     Registration::Owner { job_id, .. } => {
///         let value = serde_json::json!({"results": []}); // do the request
///         dedupe.complete("request-hash", &job_id, &value).await?;
///     }
///     Registration::Joined { .. } => {
///         if let JobOutcome::Completed(value) = dedupe.wait_for("request-hash").await? {
///             println!("{value}");
///         }
///     }
/// }
/// # Ok(()) }
/// ```
pub struct DynamoDbDedupeStore<V = serde_json::Value> {
    /// The policy, over `jobs`.
    inner: CellDedupeStore<Jobs, V>,
    jobs: Arc<Jobs>,
    polls: Arc<Mutex<Polls>>,
    /// The cache this store completes jobs into, the value stored once (see
    /// [`StoreBuilder::cache`](comic_vine_store::builder::StoreBuilder::cache)).
    cache: Option<Arc<DynamoDbCacheStore<V>>>,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for DynamoDbDedupeStore<V> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            jobs: Arc::clone(&self.jobs),
            polls: Arc::clone(&self.polls),
            cache: self.cache.clone(),
            _value: PhantomData,
        }
    }
}

#[async_trait]
impl<V> DedupeStore<V> for DynamoDbDedupeStore<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    async fn register_or_join(&self, hash: &str) -> StoreResult<Registration> {
        validate::key("hash", hash)?;
        let op = self.inner.register_or_join(hash);
        self.jobs.gate.run("register_or_join", op).await
    }

    async fn register_or_join_after(&self, hash: &str, seen: Seen) -> StoreResult<Registration> {
        validate::key("hash", hash)?;
        let op = self.inner.register_or_join_after(hash, seen);
        self.jobs.gate.run("register_or_join", op).await
    }

    async fn complete(&self, hash: &str, job_id: &JobId, value: &V) -> StoreResult<()> {
        validate::key("hash", hash)?;
        let op = self.inner.complete(hash, job_id, value);
        self.jobs.gate.run("complete", op).await
    }

    /// Into the cache this store was built with
    /// ([`StoreBuilder::cache`](comic_vine_store::builder::StoreBuilder::cache), the same
    /// instance): the job is completed first with its result named as the cache entry
    /// (one UpdateItem), then the entry is written (one PutItem, never over a newer
    /// entry; chunk writes first for a value over one item). The value is stored once;
    /// waiters take it from the entry once it is there, so none sees a completed job
    /// without its value, and an owner refused at the completion writes no entry. Into any
    /// other cache (or when the entry would expire before the job's result grace ends):
    /// `set`, then `complete`.
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
        let freshness = Freshness::fresh_for(ttl);
        self.complete_and_cache_entry(hash, job_id, value, cache, freshness)
            .await
    }

    /// As [`complete_and_cache`](Self::complete_and_cache), the entry stored with
    /// `freshness` (its stale horizon included).
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
        validate::key("hash", hash)?;
        match self.cached_result_times(cache, freshness)? {
            Some((times, inline_limit)) => {
                // The cache's size limit, before anything is written.
                let json = comic_vine_store::cache::serialize_value(hash, value)?;
                let op = self
                    .jobs
                    .complete_in_cache(hash, job_id, json, times, inline_limit);
                self.jobs.gate.run("complete_and_cache", op).await
            }
            None => {
                cache.set_entry(hash, value, freshness).await?;
                self.complete(hash, job_id, value).await
            }
        }
    }

    async fn fail(&self, hash: &str, job_id: &JobId, error: &str) -> StoreResult<()> {
        validate::key("hash", hash)?;
        let op = self.inner.fail(hash, job_id, error);
        self.jobs.gate.run("fail", op).await
    }

    async fn extend_lease(&self, hash: &str, job_id: &JobId) -> StoreResult<()> {
        validate::key("hash", hash)?;
        let op = self.inner.extend_lease(hash, job_id);
        self.jobs.gate.run("extend_lease", op).await
    }

    async fn is_in_progress(&self, hash: &str) -> StoreResult<bool> {
        validate::key("hash", hash)?;
        let op = self.inner.is_in_progress(hash);
        self.jobs.gate.run("is_in_progress", op).await
    }

    async fn wait_for(&self, hash: &str) -> StoreResult<JobOutcome<V>> {
        validate::key("hash", hash)?;
        let deadline = deadline_after(self.jobs.config.job_timeout);
        loop {
            let outcome = match tokio::time::timeout_at(deadline, self.poll(hash)).await {
                Err(_) => return Ok(JobOutcome::TimedOut),
                Ok(Err(e)) => return Err(e),
                // A loop started by an earlier waiter ran out before this one's bound.
                Ok(Ok(JobOutcome::TimedOut)) if Instant::now() < deadline => continue,
                Ok(Ok(outcome)) => outcome,
            };
            return decode_outcome(outcome);
        }
    }

    async fn job(&self, hash: &str) -> StoreResult<Option<JobInfo>> {
        validate::key("hash", hash)?;
        self.jobs.gate.run("job", self.inner.job(hash)).await
    }
}

/// The job cell on one table: everything a request needs, without the value type.
struct Jobs {
    table: Table,
    gate: Arc<Gate>,
    config: DedupeConfig,
    clock: SharedClock,
}

impl Jobs {
    /// The table's cache entries (complete-and-cache results live there).
    fn entries(&self) -> Entries<'_> {
        Entries {
            table: &self.table,
            metrics: &self.gate.metrics,
        }
    }

    fn chunks(&self, hash: &str) -> Chunks<'_> {
        Chunks {
            table: &self.table,
            metrics: &self.gate.metrics,
            pk: keys::dedupe_chunk_pk(hash),
        }
    }

    /// The TTL attribute of a job item that stops mattering at `expires_at` (plus a
    /// margin for clock skew between hosts).
    fn ttl(&self, expires_at: Timestamp) -> u64 {
        expires_at.saturating_add(TTL_MARGIN).as_secs_ceil()
    }

    /// When a job finished at `finished` may be removed.
    fn finished_expiry(&self, finished: Timestamp) -> Timestamp {
        finished
            .saturating_add(self.config.result_grace)
            .saturating_add(TTL_MARGIN)
    }
}

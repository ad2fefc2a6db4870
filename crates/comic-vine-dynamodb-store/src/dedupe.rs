//! [`DynamoDbDedupeStore`]: request deduplication on DynamoDB.
//!
//! Layout (see [`crate::keys`]): one item per request hash, `DEDUPE#<hash>` / `JOB`:
//!
//! | attribute | meaning |
//! |---|---|
//! | `JID` | the job id (S) |
//! | `ST` | `pending`, `completed` or `failed` (S) |
//! | `CR` | registered at (ms) |
//! | `LU` | the owner's lease runs until (ms) |
//! | `FIN` | finished at (ms; finished jobs) |
//! | `ERR` | the failure message (failed jobs) |
//! | `ENC`, `RAW` | the result's encoding and JSON length (completed jobs) |
//! | `V` | the encoded result, when it fits in the item |
//! | `CH` | else the number of chunks under `DEDUPECHUNK#<hash>`, version = job id |
//! | `INC` | true when the result is the cache entry of the same hash (`complete_and_cache`) |
//! | `TTL` | epoch seconds: lease end + job timeout for a pending job, end of the result grace for a finished one, plus a margin |
//!
//! Requests: `register_or_join` is one conditional PutItem, whether it owns or joins
//! (a takeover adds a Query and a BatchWriteItem to remove result chunks the previous
//! owner may have left); `complete`, `fail` and `extend_lease` one conditional
//! UpdateItem (a chunked result adds its BatchWriteItems first); `complete_and_cache`
//! with this table's [`DynamoDbCacheStore`] one TransactWriteItems that puts the cache
//! entry and completes the job, whose waiters then read the value from the entry (a
//! chunked value adds its chunk-set PutItem and BatchWriteItems first; an older entry it
//! replaces leaves its chunks to the cache's `cleanup`, or their TTL); `is_in_progress`,
//! `job` and every poll of `wait_for` one strongly consistent GetItem (a chunked result
//! adds a Query). Concurrent `wait_for` calls on one hash through one store (or its
//! clones) share one poll loop.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnConsumedCapacity, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use comic_vine_store::algorithm::jobs;
use comic_vine_store::clock::{SharedClock, duration_millis};
use comic_vine_store::{
    CacheStore, DedupeConfig, DedupeStore, JobId, JobInfo, JobOutcome, JobState, Registration,
    StoreError, StoreResult, Timestamp, validate,
};
use futures_util::future::{BoxFuture, FutureExt, Shared, WeakShared};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::batch::{Backoff, unit_random};
use crate::cache::{DynamoDbCacheStore, Entries};
use crate::chunks::Chunks;
use crate::codec::{self, Encoding};
use crate::handle::Table;
use crate::item::{self, Fields, Item};
use crate::keys;
use crate::metrics::{self, Access};
use crate::resilience::Gate;
use crate::table::{PK, TTL};

const JID: &str = "JID";
const ST: &str = "ST";
const CR: &str = "CR";
const LU: &str = "LU";
const FIN: &str = "FIN";
const ERR: &str = "ERR";
const ENC: &str = "ENC";
const RAW: &str = "RAW";
const VALUE: &str = "V";
const CHUNKS: &str = "CH";
const IN_CACHE: &str = "INC";

/// The attributes of a job's state, without its result.
const INFO_ATTRIBUTES: [&str; 6] = [JID, ST, CR, LU, FIN, ERR];

const PENDING: &str = "pending";
const COMPLETED: &str = "completed";
const FAILED: &str = "failed";

/// Who may register: nobody holds a live job (the rule of [`jobs::claim`], evaluated by
/// DynamoDB at the caller's `:now`; `:edge` is `:now` minus the result grace).
const REGISTER_CONDITION: &str = "attribute_not_exists(#PK) \
     OR (#ST = :pending AND #LU <= :now) \
     OR (#ST = :completed AND (attribute_not_exists(#FIN) OR #FIN <= :edge)) \
     OR #ST = :failed";
/// Only the owner of a pending job changes it.
const OWNER_CONDITION: &str = "#JID = :jid AND #ST = :pending";

/// Items outlive the moment they stop mattering by this much (clock skew between hosts).
const TTL_MARGIN: Duration = Duration::from_secs(300);
/// Result chunks outlive their job item by this much, so a reader holding the item
/// finds them.
const CHUNK_TTL_MARGIN: Duration = Duration::from_secs(3600);
/// `complete_and_cache` leaves the result in the cache entry only when the entry
/// outlives the job's result grace by this much.
const CACHED_RESULT_MARGIN: Duration = Duration::from_secs(60);
/// Attempts of a complete-and-cache transaction that conflicts with another write.
const TRANSACTION_ATTEMPTS: u32 = 3;
/// A bound for waits whose configured timeout does not fit an `Instant`.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// What one shared poll loop yields: the outcome with the result's JSON bytes, decoded
/// by each waiter for itself.
type PollOutput = Result<JobOutcome<Arc<[u8]>>, Arc<StoreError>>;
type PollFuture = BoxFuture<'static, PollOutput>;

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
    jobs: Jobs,
    polls: Arc<Mutex<Polls>>,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for DynamoDbDedupeStore<V> {
    fn clone(&self) -> Self {
        Self {
            jobs: self.jobs.clone(),
            polls: Arc::clone(&self.polls),
            _value: PhantomData,
        }
    }
}

impl<V> DynamoDbDedupeStore<V> {
    /// A dedupe store on `table`, with the table configuration's dedupe settings and
    /// clock.
    pub fn new(table: &Table) -> Self {
        let config = table.config();
        Self {
            jobs: Jobs {
                gate: Arc::new(Gate::new("dedupe", table)),
                config: config.dedupe().clone(),
                clock: Arc::clone(config.clock()),
                table: table.clone(),
            },
            polls: Arc::default(),
            _value: PhantomData,
        }
    }

    /// The same store with other dedupe settings (validated).
    pub fn with_config(mut self, config: DedupeConfig) -> StoreResult<Self> {
        config.validate()?;
        self.jobs.config = config;
        self.polls = Arc::default();
        Ok(self)
    }

    /// The same store reading time from `clock`.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.jobs.clock = clock;
        self.polls = Arc::default();
        self
    }

    crate::resilience::gate_controls!(jobs.gate, jobs.table);

    /// The poll loop of `hash` in flight in this store, or a new one.
    fn poll(&self, hash: &str) -> Shared<PollFuture> {
        let mut polls = lock(&self.polls);
        if let Some(poll) = polls.live(hash) {
            return poll;
        }
        polls.next_id += 1;
        let id = polls.next_id;
        let jobs = self.jobs.clone();
        let owner = Arc::downgrade(&self.polls);
        let key = hash.to_owned();
        let poll = async move {
            let outcome = jobs.poll_until_done(&key).await.map_err(Arc::new);
            if let Some(polls) = owner.upgrade() {
                lock(&polls).forget(&key, id);
            }
            outcome
        }
        .boxed()
        .shared();
        polls.insert(hash, id, &poll);
        poll
    }
}

#[async_trait]
impl<V> DedupeStore<V> for DynamoDbDedupeStore<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    async fn register_or_join(&self, hash: &str) -> StoreResult<Registration> {
        validate::key("hash", hash)?;
        self.jobs
            .gate
            .run("register_or_join", self.jobs.register_or_join(hash))
            .await
    }

    async fn complete(&self, hash: &str, job_id: &JobId, value: &V) -> StoreResult<()> {
        validate::key("hash", hash)?;
        let json = serde_json::to_vec(value)?;
        self.jobs
            .gate
            .run("complete", self.jobs.complete(hash, job_id, json))
            .await
    }

    /// With a [`DynamoDbCacheStore`] on the same table, one TransactWriteItems (plus
    /// chunk writes for a value over one item): the entry and the completion land
    /// together or not at all, and waiters read the value from the entry. Otherwise (or
    /// when the entry would expire before the job's result grace ends), `set` then
    /// `complete`.
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
        validate::key("hash", hash)?;
        let own = cache
            .as_any()
            .and_then(|c| c.downcast_ref::<DynamoDbCacheStore<V>>())
            .filter(|c| c.table_name() == self.jobs.table.name());
        let outlives_grace = self
            .jobs
            .config
            .result_grace
            .saturating_add(CACHED_RESULT_MARGIN);
        let own = match own {
            Some(own) => Some((own, own.effective_ttl(ttl)?)),
            None => None,
        };
        match own {
            Some((own, ttl)) if ttl >= outlives_grace => {
                // The cache's size limit, before anything is written.
                let json = comic_vine_store::cache::serialize_value(hash, value)?;
                let expires = own.clock().now().saturating_add(ttl);
                self.jobs
                    .gate
                    .run(
                        "complete_and_cache",
                        self.jobs.complete_in_cache(hash, job_id, json, expires),
                    )
                    .await
            }
            _ => {
                cache.set(hash, value, ttl).await?;
                self.complete(hash, job_id, value).await
            }
        }
    }

    async fn fail(&self, hash: &str, job_id: &JobId, error: &str) -> StoreResult<()> {
        validate::key("hash", hash)?;
        self.jobs
            .gate
            .run("fail", self.jobs.fail(hash, job_id, error))
            .await
    }

    async fn extend_lease(&self, hash: &str, job_id: &JobId) -> StoreResult<()> {
        validate::key("hash", hash)?;
        self.jobs
            .gate
            .run("extend_lease", self.jobs.extend_lease(hash, job_id))
            .await
    }

    async fn is_in_progress(&self, hash: &str) -> StoreResult<bool> {
        validate::key("hash", hash)?;
        self.jobs
            .gate
            .run("is_in_progress", async {
                let now = self.jobs.clock.now();
                Ok(self
                    .jobs
                    .info(hash)
                    .await?
                    .is_some_and(|job| job.state == JobState::Pending && job.lease_until > now))
            })
            .await
    }

    async fn wait_for(&self, hash: &str) -> StoreResult<JobOutcome<V>> {
        validate::key("hash", hash)?;
        let deadline = deadline_after(self.jobs.config.job_timeout);
        loop {
            let outcome = match tokio::time::timeout_at(deadline, self.poll(hash)).await {
                Err(_) => return Ok(JobOutcome::TimedOut),
                Ok(Err(e)) => return Err(e.duplicate()),
                // A loop started by an earlier waiter ran out before this one's bound.
                Ok(Ok(JobOutcome::TimedOut)) if Instant::now() < deadline => continue,
                Ok(Ok(outcome)) => outcome,
            };
            return decode_outcome(outcome);
        }
    }

    async fn job(&self, hash: &str) -> StoreResult<Option<JobInfo>> {
        validate::key("hash", hash)?;
        self.jobs.gate.run("job", self.jobs.info(hash)).await
    }
}

/// Everything a request needs, without the value type: shared by the store's methods
/// and its poll loops.
#[derive(Clone)]
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

    /// Epoch seconds at which a pending job with this lease may be removed.
    fn pending_ttl(&self, lease_until: Timestamp) -> u64 {
        lease_until
            .saturating_add(self.config.job_timeout)
            .saturating_add(TTL_MARGIN)
            .as_secs_ceil()
    }

    /// When a job finished at `finished` may be removed.
    fn finished_expiry(&self, finished: Timestamp) -> Timestamp {
        finished
            .saturating_add(self.config.result_grace)
            .saturating_add(TTL_MARGIN)
    }

    /// The item of a new pending job registered at `now`.
    fn pending_job(&self, hash: &str, job_id: &JobId, now: Timestamp) -> Item {
        let lease_until = now.saturating_add(self.config.lease);
        let mut job = item::key(keys::dedupe_job(hash));
        job.insert(JID.to_owned(), item::s(job_id.as_str()));
        job.insert(ST.to_owned(), item::s(PENDING));
        job.insert(CR.to_owned(), item::n(now.as_millis()));
        job.insert(LU.to_owned(), item::n(lease_until.as_millis()));
        job.insert(TTL.to_owned(), item::n(self.pending_ttl(lease_until)));
        job
    }

    /// One conditional PutItem: a new pending job, or the existing job to join.
    async fn register_or_join(&self, hash: &str) -> StoreResult<Registration> {
        let now = self.clock.now();
        let job_id = JobId::random();
        let job = self.pending_job(hash, &job_id, now);
        // Finished at or before `edge`: the result grace is over.
        let edge =
            i128::from(now.as_millis()) - i128::from(duration_millis(self.config.result_grace));
        let sent = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(job))
            .condition_expression(REGISTER_CONDITION)
            .expression_attribute_names("#PK", PK)
            .expression_attribute_names("#ST", ST)
            .expression_attribute_names("#LU", LU)
            .expression_attribute_names("#FIN", FIN)
            .expression_attribute_values(":pending", item::s(PENDING))
            .expression_attribute_values(":completed", item::s(COMPLETED))
            .expression_attribute_values(":failed", item::s(FAILED))
            .expression_attribute_values(":now", item::n(now.as_millis()))
            .expression_attribute_values(":edge", AttributeValue::N(edge.to_string()))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match sent {
            Ok(out) => {
                self.gate
                    .metrics
                    .request(Access::Write, out.consumed_capacity());
                let took_over = match &out.attributes {
                    Some(old) => self.replaced(hash, old).await,
                    None => false,
                };
                Ok(Registration::Owner { job_id, took_over })
            }
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(held)) => {
                    self.gate.metrics.request(Access::Write, None);
                    match joined(hash, held.item())? {
                        // Our own job holds it: the write landed, its answer was lost and
                        // the SDK retried. (Whether it took a job over is lost with it.)
                        Registration::Joined { job_id: held } if held == job_id => {
                            Ok(Registration::Owner {
                                job_id,
                                took_over: false,
                            })
                        }
                        joined => Ok(joined),
                    }
                }
                _ => Err(self.table.error("PutItem", e)),
            },
        }
    }

    /// Handles the job a registration replaced: whether it was a pending job taken over;
    /// its result chunks are removed (best effort: their TTL removes them otherwise).
    async fn replaced(&self, hash: &str, old: &Item) -> bool {
        let took_over =
            old.get(ST).and_then(|s| s.as_s().ok()).map(String::as_str) == Some(PENDING);
        if let Err(e) = self.discard_chunks(hash, old, took_over).await {
            tracing::warn!(hash, error = %e, "could not remove a replaced job's result chunks");
        }
        took_over
    }

    /// Removes the result chunks of a replaced job: those its item names, or for a
    /// pending job (whose owner may have died while writing them) those a Query finds.
    async fn discard_chunks(&self, hash: &str, old: &Item, pending: bool) -> StoreResult<()> {
        let what = format!("dedupe job {hash}");
        let fields = Fields::new(old, &what);
        let old_id = fields.s(JID)?;
        match fields.opt_n(CHUNKS)? {
            Some(count) => {
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                self.chunks(hash).delete(old_id, count).await
            }
            None if pending => self.chunks(hash).delete_found(old_id).await,
            None => Ok(()),
        }
    }

    /// Finishes the caller's job with the JSON `json`: chunks first if it is over one
    /// item (removed again if the caller turns out not to own the job).
    async fn complete(&self, hash: &str, job_id: &JobId, json: Vec<u8>) -> StoreResult<()> {
        let encoded = codec::encode(json, hash)?;
        let now = self.clock.now();
        let expiry = self.finished_expiry(now);
        let mut set = vec![
            (ST, item::s(COMPLETED)),
            (FIN, item::n(now.as_millis())),
            (TTL, item::n(expiry.as_secs_ceil())),
            (ENC, item::s(encoded.encoding.as_str())),
            (RAW, item::n(encoded.raw_len as u64)),
        ];
        let chunked = if encoded.is_inline() {
            set.push((VALUE, item::b(encoded.payload)));
            None
        } else {
            let chunk_ttl = expiry.saturating_add(CHUNK_TTL_MARGIN).as_secs_ceil();
            let count = self
                .chunks(hash)
                .write(job_id.as_str(), encoded.chunks(), chunk_ttl)
                .await?;
            set.push((CHUNKS, item::n(u64::from(count))));
            Some(count)
        };
        let result = self.update_owned(hash, job_id, set).await;
        if let (Err(StoreError::NotJobOwner { .. }), Some(count)) = (&result, chunked)
            && let Err(e) = self.chunks(hash).delete(job_id.as_str(), count).await
        {
            tracing::warn!(hash, error = %e, "could not remove the chunks of a refused result");
        }
        result
    }

    /// Puts the cache entry of `hash` (value `json`, expiring at `expires`) and completes
    /// the caller's job in one transaction; the job's result is that entry.
    async fn complete_in_cache(
        &self,
        hash: &str,
        job_id: &JobId,
        json: Vec<u8>,
        expires: Timestamp,
    ) -> StoreResult<()> {
        let entries = self.entries();
        let now = self.clock.now();
        let prepared = entries.prepare(hash, json, expires, now).await?;
        let set = vec![
            (ST, item::s(COMPLETED)),
            (FIN, item::n(now.as_millis())),
            (TTL, item::n(self.finished_expiry(now).as_secs_ceil())),
            (IN_CACHE, AttributeValue::Bool(true)),
        ];
        let (expression, names, values) = owned_update(job_id, &set);
        let complete = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(item::key(keys::dedupe_job(hash))))
            .update_expression(expression)
            .condition_expression(OWNER_CONDITION)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::backend("building a job completion", e))?;
        // Billed per item: the entry, and the job at its size after the update.
        let job_key = item::key(keys::dedupe_job(hash));
        let at = item::n(now.as_millis());
        let held = [(JID, item::s(job_id.as_str())), (CR, at.clone()), (LU, at)];
        let sizes = [
            metrics::item_size(prepared.item.iter().map(|(k, v)| (k.as_str(), v))),
            metrics::item_size(job_key.iter().map(|(k, v)| (k.as_str(), v)))
                + metrics::item_size(set.iter().chain(&held).map(|(k, v)| (*k, v))),
        ];
        let put = Put::builder()
            .table_name(self.table.name())
            .set_item(Some(prepared.item))
            .build()
            .map_err(|e| StoreError::backend("building a cache entry write", e))?;
        // One token for every attempt: a retry of a transaction that landed is a no-op.
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mut attempt = 0;
        let refusal = loop {
            attempt += 1;
            let sent = self
                .table
                .client()
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(put.clone()).build())
                .transact_items(
                    TransactWriteItem::builder()
                        .update(complete.clone())
                        .build(),
                )
                .client_request_token(&token)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            let e = match sent {
                Ok(out) => {
                    self.gate
                        .metrics
                        .transaction(out.consumed_capacity(), &sizes);
                    return Ok(());
                }
                Err(e) => e,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) =
                e.as_service_error()
            else {
                // Perhaps landed (e.g. its answer was lost): the entry's chunks stay,
                // their TTL removes them if it did not.
                return Err(self.table.error("TransactWriteItems", e));
            };
            self.gate.metrics.request(Access::Write, None);
            let reasons = cancel.cancellation_reasons();
            let job = reasons.get(1);
            if job.and_then(|r| r.code()) == Some("ConditionalCheckFailed") {
                // The job holds exactly what we set: the transaction landed and its
                // answer was lost.
                if landed(job.and_then(|r| r.item()), job_id, &set) {
                    return Ok(());
                }
                break StoreError::NotJobOwner {
                    hash: hash.to_owned(),
                    job_id: job_id.to_string(),
                };
            }
            let conflict = reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"));
            if !conflict || attempt >= TRANSACTION_ATTEMPTS {
                break self.table.error("TransactWriteItems", e);
            }
            tokio::time::sleep(Backoff::DEFAULT.delay(attempt, unit_random())).await;
        };
        // Cancelled: nothing was written, so the chunks written for it go.
        if let Some(version) = &prepared.version {
            entries.discard(hash, version).await;
        }
        Err(refusal)
    }

    async fn fail(&self, hash: &str, job_id: &JobId, error: &str) -> StoreResult<()> {
        let now = self.clock.now();
        let set = vec![
            (ST, item::s(FAILED)),
            (FIN, item::n(now.as_millis())),
            (TTL, item::n(self.finished_expiry(now).as_secs_ceil())),
            (ERR, item::s(error)),
        ];
        self.update_owned(hash, job_id, set).await
    }

    async fn extend_lease(&self, hash: &str, job_id: &JobId) -> StoreResult<()> {
        let lease_until = self.clock.now().saturating_add(self.config.lease);
        let set = vec![
            (LU, item::n(lease_until.as_millis())),
            (TTL, item::n(self.pending_ttl(lease_until))),
        ];
        self.update_owned(hash, job_id, set).await
    }

    /// One UpdateItem setting `set` on the job if `job_id` owns it and it is pending;
    /// [`StoreError::NotJobOwner`] otherwise.
    async fn update_owned(
        &self,
        hash: &str,
        job_id: &JobId,
        set: Vec<(&'static str, AttributeValue)>,
    ) -> StoreResult<()> {
        let (expression, names, values) = owned_update(job_id, &set);
        let update = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(item::key(keys::dedupe_job(hash))))
            .update_expression(expression)
            .condition_expression(OWNER_CONDITION)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        match update.send().await {
            Ok(out) => {
                self.gate
                    .metrics
                    .request(Access::Write, out.consumed_capacity());
                Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                self.gate.metrics.request(Access::Write, None);
                let held = match e.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(c)) => c.item(),
                    _ => None,
                };
                if landed(held, job_id, &set) {
                    return Ok(());
                }
                Err(StoreError::NotJobOwner {
                    hash: hash.to_owned(),
                    job_id: job_id.to_string(),
                })
            }
            Err(e) => Err(self.table.error("UpdateItem", e)),
        }
    }

    /// The job item of `hash` (strongly consistent), with its result only if asked for.
    async fn read(&self, hash: &str, with_result: bool) -> StoreResult<Option<Item>> {
        let mut get = self
            .table
            .client()
            .get_item()
            .table_name(self.table.name())
            .set_key(Some(item::key(keys::dedupe_job(hash))))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        if !with_result {
            let projection = INFO_ATTRIBUTES.map(|name| format!("#{name}")).join(", ");
            get = get.projection_expression(projection);
            for name in INFO_ATTRIBUTES {
                get = get.expression_attribute_names(format!("#{name}"), name);
            }
        }
        let out = get
            .send()
            .await
            .map_err(|e| self.table.error("GetItem", e))?;
        self.gate
            .metrics
            .request(Access::Read, out.consumed_capacity());
        Ok(out.item)
    }

    async fn info(&self, hash: &str) -> StoreResult<Option<JobInfo>> {
        let what = format!("dedupe job {hash}");
        match self.read(hash, false).await? {
            Some(job) => job_info(&job, &what).map(Some),
            None => Ok(None),
        }
    }

    /// Polls the job (backing off from `poll_interval` to `max_poll_interval`) until it
    /// has an outcome or `job_timeout` has passed.
    async fn poll_until_done(&self, hash: &str) -> StoreResult<JobOutcome<Arc<[u8]>>> {
        let deadline = deadline_after(self.config.job_timeout);
        let mut delay = self.config.poll_interval;
        loop {
            if let Some(outcome) = self.gate.run("wait_for", self.outcome_now(hash)).await? {
                return Ok(outcome);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(JobOutcome::TimedOut);
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = delay.saturating_mul(2).min(self.config.max_poll_interval);
        }
    }

    /// The outcome visible now, or `None` while the job is pending with a live lease
    /// (or its result's chunks were just replaced: the next poll sees the new job).
    async fn outcome_now(&self, hash: &str) -> StoreResult<Option<JobOutcome<Arc<[u8]>>>> {
        let Some(job) = self.read(hash, true).await? else {
            return Ok(Some(JobOutcome::NotFound));
        };
        let what = format!("dedupe job {hash}");
        let info = job_info(&job, &what)?;
        let now = self.clock.now();
        Ok(match info.state {
            JobState::Pending if info.lease_until > now => None,
            JobState::Pending => Some(JobOutcome::Abandoned),
            _ if !jobs::in_grace(&info, now, self.config.result_grace) => {
                Some(JobOutcome::NotFound)
            }
            JobState::Completed if job.get(IN_CACHE) == Some(&AttributeValue::Bool(true)) => {
                // The entry and the completion were written together; an entry gone
                // since (deleted, cleared) leaves no result.
                Some(
                    match self.entries().read(hash, self.clock.as_ref()).await? {
                        Some(json) => JobOutcome::Completed(json.into()),
                        None => JobOutcome::NotFound,
                    },
                )
            }
            JobState::Completed => self
                .result(hash, &info.job_id, &job, &what)
                .await?
                .map(JobOutcome::Completed),
            JobState::Failed => Some(JobOutcome::Failed(info.error.unwrap_or_default())),
        })
    }

    /// The JSON bytes of a completed job's result; `None` if its chunks are gone.
    async fn result(
        &self,
        hash: &str,
        job_id: &JobId,
        job: &Item,
        what: &str,
    ) -> StoreResult<Option<Arc<[u8]>>> {
        let fields = Fields::new(job, what);
        let encoding = Encoding::parse(fields.s(ENC)?, what)?;
        let raw_len = usize::try_from(fields.n(RAW)?).unwrap_or(usize::MAX);
        let payload = match fields.opt_b(VALUE)? {
            Some(inline) => inline.to_vec(),
            None => {
                let count = u32::try_from(fields.n(CHUNKS)?).unwrap_or(u32::MAX);
                match self.chunks(hash).read(job_id.as_str(), count).await? {
                    Some(payload) => payload,
                    None => return Ok(None),
                }
            }
        };
        Ok(Some(
            codec::decode(encoding, payload, raw_len, what)?.into(),
        ))
    }
}

/// The update expression, names and values that set `set` on a job (with the values of
/// [`OWNER_CONDITION`] for `job_id`).
fn owned_update(
    job_id: &JobId,
    set: &[(&'static str, AttributeValue)],
) -> (
    String,
    HashMap<String, String>,
    HashMap<String, AttributeValue>,
) {
    let assignments = set
        .iter()
        .map(|(name, _)| format!("#{name} = :new{name}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut names = HashMap::from([
        ("#JID".to_owned(), JID.to_owned()),
        ("#ST".to_owned(), ST.to_owned()),
    ]);
    let mut values = HashMap::from([
        (":jid".to_owned(), item::s(job_id.as_str())),
        (":pending".to_owned(), item::s(PENDING)),
    ]);
    for (name, value) in set {
        names.insert(format!("#{name}"), (*name).to_owned());
        values.insert(format!(":new{name}"), value.clone());
    }
    (format!("SET {assignments}"), names, values)
}

/// Whether `held`, the job that refused an owner's update, holds exactly what the update
/// set: it landed, its answer was lost and the SDK retried it (a second, different update
/// stays refused).
fn landed(held: Option<&Item>, job_id: &JobId, set: &[(&'static str, AttributeValue)]) -> bool {
    held.is_some_and(|held| {
        held.get(JID) == Some(&item::s(job_id.as_str()))
            && set
                .iter()
                .all(|(name, value)| held.get(*name) == Some(value))
    })
}

/// The registration of a caller whose PutItem found `held`, the live job.
fn joined(hash: &str, held: Option<&Item>) -> StoreResult<Registration> {
    let what = format!("dedupe job {hash}");
    let held = held.ok_or_else(|| StoreError::Backend {
        message: format!("registration of {what} was refused without the job that holds it"),
        source: None,
    })?;
    let job_id = JobId::from_string(Fields::new(held, &what).s(JID)?);
    Ok(Registration::Joined { job_id })
}

/// Reads a job item's state.
fn job_info(job: &Item, what: &str) -> StoreResult<JobInfo> {
    let fields = Fields::new(job, what);
    let state = match fields.s(ST)? {
        PENDING => JobState::Pending,
        COMPLETED => JobState::Completed,
        FAILED => JobState::Failed,
        other => {
            return Err(StoreError::Corrupt {
                key: what.to_owned(),
                reason: format!("unknown job state {other:?}"),
            });
        }
    };
    Ok(JobInfo {
        job_id: JobId::from_string(fields.s(JID)?),
        state,
        created_at: Timestamp::from_millis(fields.n(CR)?),
        lease_until: Timestamp::from_millis(fields.n(LU)?),
        finished_at: fields.opt_n(FIN)?.map(Timestamp::from_millis),
        error: fields.opt_s(ERR)?.map(str::to_owned),
    })
}

/// Gives a waiter its own copy of a shared outcome.
fn decode_outcome<V: DeserializeOwned>(
    outcome: JobOutcome<Arc<[u8]>>,
) -> StoreResult<JobOutcome<V>> {
    Ok(match outcome {
        JobOutcome::Completed(json) => JobOutcome::Completed(serde_json::from_slice(&json)?),
        JobOutcome::Failed(message) => JobOutcome::Failed(message),
        JobOutcome::Abandoned => JobOutcome::Abandoned,
        JobOutcome::NotFound => JobOutcome::NotFound,
        JobOutcome::TimedOut => JobOutcome::TimedOut,
    })
}

/// `timeout` from now, or a far future if that does not fit.
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or_else(|| now + FAR_FUTURE)
}

/// The poll loops of one store in flight, by hash. Entries are weak: a loop nobody
/// awaits any more is dropped, and replaced by the next waiter.
#[derive(Default)]
struct Polls {
    next_id: u64,
    live: HashMap<String, (u64, WeakShared<PollFuture>)>,
}

impl Polls {
    /// The loop of `hash`, if one is in flight.
    fn live(&self, hash: &str) -> Option<Shared<PollFuture>> {
        self.live.get(hash).and_then(|(_, poll)| poll.upgrade())
    }

    /// Records loop `id` of `hash`, dropping entries of loops nobody awaits.
    fn insert(&mut self, hash: &str, id: u64, poll: &Shared<PollFuture>) {
        self.live.retain(|_, (_, p)| p.upgrade().is_some());
        if let Some(weak) = poll.downgrade() {
            self.live.insert(hash.to_owned(), (id, weak));
        }
    }

    /// Removes loop `id` of `hash` (not a later one).
    fn forget(&mut self, hash: &str, id: u64) {
        if self
            .live
            .get(hash)
            .is_some_and(|(current, _)| *current == id)
        {
            self.live.remove(hash);
        }
    }
}

/// Locks the poll registry, recovering it if a panicking thread poisoned it (every
/// critical section leaves it consistent).
fn lock(polls: &Mutex<Polls>) -> MutexGuard<'_, Polls> {
    polls.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: &str) -> Item {
        let mut job = item::key(keys::dedupe_job("h"));
        job.insert(JID.to_owned(), item::s("j1"));
        job.insert(ST.to_owned(), item::s(state));
        job.insert(CR.to_owned(), item::n(1_000));
        job.insert(LU.to_owned(), item::n(31_000));
        job
    }

    #[test]
    fn job_items_are_read_with_typed_errors() {
        let info = job_info(&job(PENDING), "dedupe job h").unwrap();
        assert_eq!(info.job_id.as_str(), "j1");
        assert_eq!(info.state, JobState::Pending);
        assert_eq!(info.lease_until, Timestamp::from_millis(31_000));
        assert_eq!((info.finished_at, info.error), (None, None));

        let e = job_info(&job("paused"), "dedupe job h").unwrap_err();
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
        let mut no_lease = job(PENDING);
        no_lease.remove(LU);
        let e = job_info(&no_lease, "dedupe job h").unwrap_err();
        assert!(e.to_string().contains("LU"), "{e}");
    }

    #[test]
    fn a_refused_registration_names_the_holder() {
        assert_eq!(
            joined("h", Some(&job(PENDING))).unwrap(),
            Registration::Joined {
                job_id: JobId::from_string("j1")
            }
        );
        assert!(matches!(
            joined("h", None).unwrap_err(),
            StoreError::Backend { .. }
        ));
    }

    #[tokio::test]
    async fn finished_poll_loops_remove_only_themselves() {
        let mut polls = Polls::default();
        let first = async { Ok(JobOutcome::NotFound) }.boxed().shared();
        polls.insert("h", 1, &first);
        assert!(polls.live("h").is_some());
        let second = async { Ok(JobOutcome::TimedOut) }.boxed().shared();
        polls.insert("h", 2, &second);
        polls.forget("h", 1);
        assert!(polls.live("h").is_some(), "a later loop stays");
        polls.forget("h", 2);
        assert!(polls.live("h").is_none());

        // A loop nobody awaits any more is not handed out.
        let orphan = async { Ok(JobOutcome::NotFound) }.boxed().shared();
        polls.insert("o", 3, &orphan);
        drop(orphan);
        assert!(polls.live("o").is_none());
    }

    #[test]
    fn deadlines_never_overflow() {
        assert!(deadline_after(Duration::MAX) > Instant::now());
    }
}

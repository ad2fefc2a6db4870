//! Waiting: `wait_for` polls (one loop per hash shared by every waiter of a store),
//! and the reads behind `job` and `is_in_progress`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use comic_vine_store::algorithm::jobs;
use comic_vine_store::{JobId, JobInfo, JobOutcome, JobState, StoreError, StoreResult, Timestamp};
use futures_util::future::{BoxFuture, FutureExt, Shared, WeakShared};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::job_item::{INFO_ATTRIBUTES, job_info};
use super::{DynamoDbDedupeStore, Jobs};
use crate::attributes::job::{CHUNK_COUNT, ENCODING, IN_CACHE, JOB_ID, RAW_LEN, VALUE};
use crate::codec::{self, Encoding};
use crate::item::{self, Fields, Item};
use crate::keys;
use crate::metrics::Access;

/// A bound for waits whose configured timeout does not fit an `Instant`.
pub(super) const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// What one shared poll loop yields: the outcome with the result's JSON bytes, decoded
/// by each waiter for itself.
pub(super) type PollOutput = Result<JobOutcome<Arc<[u8]>>, StoreError>;
pub(super) type PollFuture = BoxFuture<'static, PollOutput>;

impl<V> DynamoDbDedupeStore<V> {
    /// The poll loop of `hash` in flight in this store, or a new one.
    pub(super) fn poll(&self, hash: &str) -> Shared<PollFuture> {
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
            let outcome = jobs.poll_until_done(&key).await;
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

impl Jobs {
    /// The job item of `hash` (strongly consistent), with its result only if asked for.
    pub(super) async fn read(&self, hash: &str, with_result: bool) -> StoreResult<Option<Item>> {
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

    pub(super) async fn info(&self, hash: &str) -> StoreResult<Option<JobInfo>> {
        let what = format!("dedupe job {hash}");
        match self.read(hash, false).await? {
            // A projection of an older layout's item holds none of the attributes read:
            // read it whole, to name what it holds.
            Some(job) if !job.contains_key(JOB_ID) => match self.read(hash, true).await? {
                Some(whole) => job_info(&whole, &what).map(Some),
                None => Ok(None),
            },
            Some(job) => job_info(&job, &what).map(Some),
            None => Ok(None),
        }
    }

    /// Polls the job (backing off from `poll_interval` to `max_poll_interval`) until it
    /// has an outcome or `job_timeout` has passed.
    pub(super) async fn poll_until_done(&self, hash: &str) -> StoreResult<JobOutcome<Arc<[u8]>>> {
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
    pub(super) async fn outcome_now(
        &self,
        hash: &str,
    ) -> StoreResult<Option<JobOutcome<Arc<[u8]>>>> {
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
                // The result is the cache entry, published after the completion: only an
                // entry at least as new as the completion is it. Until one is there
                // (published, or replaced by a newer one) the job is still finishing;
                // an entry gone since (deleted, cleared) leaves no result once the grace
                // ends.
                let finished = info.finished_at.unwrap_or(Timestamp::EPOCH);
                let read = self
                    .entries()
                    .read_entry(hash, self.clock.as_ref(), true)
                    .await?;
                read.filter(|r| r.stored_at.is_some_and(|at| at >= finished))
                    .map(|r| JobOutcome::Completed(r.json.into()))
            }
            JobState::Completed => self
                .result(hash, &info.job_id, &job, &what)
                .await?
                .map(JobOutcome::Completed),
            JobState::Failed => Some(JobOutcome::Failed(info.error.unwrap_or_default())),
        })
    }

    /// The JSON bytes of a completed job's result; `None` if its chunks are gone.
    pub(super) async fn result(
        &self,
        hash: &str,
        job_id: &JobId,
        job: &Item,
        what: &str,
    ) -> StoreResult<Option<Arc<[u8]>>> {
        let fields = Fields::new(job, what);
        let encoding = Encoding::parse(fields.s(ENCODING)?, what)?;
        let raw_len = usize::try_from(fields.n(RAW_LEN)?).unwrap_or(usize::MAX);
        let payload = match fields.opt_b(VALUE)? {
            Some(inline) => inline.to_vec(),
            None => {
                let count = u32::try_from(fields.n(CHUNK_COUNT)?).unwrap_or(u32::MAX);
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

/// Gives a waiter its own copy of a shared outcome.
pub(super) fn decode_outcome<V: DeserializeOwned>(
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
pub(super) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or_else(|| now + FAR_FUTURE)
}

/// The poll loops of one store in flight, by hash. Entries are weak: a loop nobody
/// awaits any more is dropped, and replaced by the next waiter.
#[derive(Default)]
pub(super) struct Polls {
    next_id: u64,
    live: HashMap<String, (u64, WeakShared<PollFuture>)>,
}

impl Polls {
    /// The loop of `hash`, if one is in flight.
    pub(super) fn live(&self, hash: &str) -> Option<Shared<PollFuture>> {
        self.live.get(hash).and_then(|(_, poll)| poll.upgrade())
    }

    /// Records loop `id` of `hash`, dropping entries of loops nobody awaits.
    pub(super) fn insert(&mut self, hash: &str, id: u64, poll: &Shared<PollFuture>) {
        self.live.retain(|_, (_, p)| p.upgrade().is_some());
        if let Some(weak) = poll.downgrade() {
            self.live.insert(hash.to_owned(), (id, weak));
        }
    }

    /// Removes loop `id` of `hash` (not a later one).
    pub(super) fn forget(&mut self, hash: &str, id: u64) {
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
pub(super) fn lock(polls: &Mutex<Polls>) -> MutexGuard<'_, Polls> {
    polls.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

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

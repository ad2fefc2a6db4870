//! Waiting: `wait_for` polls (one loop per hash shared by every waiter of a store),
//! and the reads behind `job` and `is_in_progress`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use comic_vine_store::cell::CellDedupeStore;
use comic_vine_store::cell::jobs::{HeldJob, JobResult};
use comic_vine_store::{JobId, JobInfo, JobOutcome, StoreError, StoreResult, Timestamp};
use futures_util::future::{BoxFuture, FutureExt, Shared, WeakShared};
use tokio::time::Instant;

use super::job_item::{INFO_ATTRIBUTES, job_info};
use super::{DynamoDbDedupeStore, Jobs};
use crate::attributes::job::{CHUNK_COUNT, ENCODING, IN_CACHE, JOB_ID, RAW_LEN, VALUE};
use crate::codec::{self, Encoding};
use crate::item::{Fields, Item};
use crate::keys;
use crate::metrics::Access;
use crate::resilience::Gate;

/// A bound for waits whose configured timeout does not fit an `Instant`.
pub(super) const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// What one shared poll loop yields: the outcome with the result's JSON bytes, decoded
/// by each waiter for itself.
pub(super) type PollOutput = Result<JobOutcome<Arc<[u8]>>, StoreError>;
pub(super) type PollFuture = BoxFuture<'static, PollOutput>;

impl<V: 'static> DynamoDbDedupeStore<V> {
    /// The poll loop of `hash` in flight in this store, or a new one.
    pub(super) fn poll(&self, hash: &str) -> Shared<PollFuture> {
        let mut polls = lock(&self.polls);
        if let Some(poll) = polls.live(hash) {
            return poll;
        }
        polls.next_id += 1;
        let id = polls.next_id;
        let (store, gate) = (self.inner.clone(), Arc::clone(&self.jobs.gate));
        let owner = Arc::downgrade(&self.polls);
        let key = hash.to_owned();
        let poll = async move {
            let outcome = poll_until_done(store, gate, key.clone()).await;
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
            .get_item(keys::dedupe_job(hash))
            .consistent_read(true);
        if !with_result {
            let projection = INFO_ATTRIBUTES.map(|name| format!("#{name}")).join(", ");
            get = get.projection_expression(projection);
            for name in INFO_ATTRIBUTES {
                get = get.expression_attribute_names(format!("#{name}"), name);
            }
        }
        Ok(self
            .table
            .send(&self.gate.metrics, Access::Read, get)
            .await?
            .item)
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

    /// The job of `hash` with its whole item (the record its result is read from).
    pub(super) async fn load_job(&self, hash: &str) -> StoreResult<Option<HeldJob<Item>>> {
        let Some(job) = self.read(hash, true).await? else {
            return Ok(None);
        };
        let info = job_info(&job, &format!("dedupe job {hash}"))?;
        Ok(Some(HeldJob { info, record: job }))
    }

    /// The result of the completed job `held`: in the cache entry written with it, or
    /// in the item (inline or chunked).
    pub(super) async fn job_result(
        &self,
        hash: &str,
        held: &HeldJob<Item>,
    ) -> StoreResult<JobResult> {
        if held.record.get(IN_CACHE) == Some(&AttributeValue::Bool(true)) {
            // The result is the cache entry, published after the completion: only an
            // entry at least as new as the completion is it. Until one is there
            // (published, or replaced by a newer one) the job is still finishing; an
            // entry gone since (deleted, cleared) leaves no result once the grace ends.
            let finished = held.info.finished_at.unwrap_or(Timestamp::EPOCH);
            let read = self
                .entries()
                .read_entry(hash, self.clock.as_ref(), true)
                .await?;
            return Ok(
                match read.filter(|r| r.stored_at.is_some_and(|at| at >= finished)) {
                    Some(r) => JobResult::Value(r.json),
                    None => JobResult::NotYet,
                },
            );
        }
        let what = format!("dedupe job {hash}");
        Ok(
            match self
                .result(hash, &held.info.job_id, &held.record, &what)
                .await?
            {
                Some(json) => JobResult::Value(json.to_vec()),
                // Its chunks were just replaced: the next look sees the new job.
                None => JobResult::NotYet,
            },
        )
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

/// Polls `store` through `gate` (backing off from `poll_interval` to
/// `max_poll_interval`) until the job has an outcome or `job_timeout` has passed.
async fn poll_until_done<V: 'static>(
    store: CellDedupeStore<Jobs, V>,
    gate: Arc<Gate>,
    hash: String,
) -> PollOutput {
    let config = store.config().clone();
    let deadline = deadline_after(config.job_timeout);
    let mut delay = config.poll_interval;
    loop {
        if let Some(outcome) = gate.run("wait_for", store.outcome_now(&hash)).await? {
            return Ok(outcome.map(Arc::from));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(JobOutcome::TimedOut);
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = delay.saturating_mul(2).min(config.max_poll_interval);
    }
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

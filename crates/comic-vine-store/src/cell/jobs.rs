//! [`JobCell`]: the storage primitive of the dedupe policy, and its implementation over
//! any [`StateCell`].
//!
//! [`CellDedupeStore`](super::CellDedupeStore) decides who owns a job; a job cell only
//! stores what it decided, with three conditional writes: *create if absent*, *replace
//! the job seen* (a takeover) and *write if the stored job is the one expected* (an
//! owner's completion, failure or heartbeat). Each write that is refused hands back the
//! job that refused it, so registration costs one request when the hash is free or
//! held, and a second only for a takeover. A backend with its own layout (DynamoDB:
//! attributes, chunked results, results in the cache) implements it directly; every
//! [`StateCell`] is one, with the job encoded by [`super::encoding`].

use async_trait::async_trait;
use tokio::sync::watch;

use super::encoding::{StoredJob, decode_job, encode_job};
use super::{Change, StateCell, StateKind, decide};
use crate::clock::Timestamp;
use crate::dedupe::{JobId, JobInfo, JobState};
use crate::error::{StoreError, StoreResult};

/// A stored job as a cell hands it back: its info, and the backend's own record of it
/// (what it compares a replacement against, where the result is).
#[derive(Clone, Debug)]
pub struct HeldJob<H> {
    /// The job.
    pub info: JobInfo,
    /// The backend's record of it.
    pub record: H,
}

/// How a conditional write of a job ended.
#[derive(Clone, Debug)]
pub enum Written<H> {
    /// The job was stored.
    Stored,
    /// Refused: this job is stored instead.
    Held(HeldJob<H>),
    /// Refused: no job is stored any more (a replacement of a job that is gone).
    Gone,
}

/// Which stored job an owner's write applies to (built by the policy, compared by the
/// cell).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The job's id.
    pub job_id: JobId,
    /// Its state.
    pub state: JobState,
}

impl Expected {
    /// The job the owner `job_id` may write: its own, still pending (the rule of
    /// [`jobs::owns`](crate::algorithm::jobs::owns); an owner whose lease expired still
    /// owns it until someone takes it over).
    pub fn owner(job_id: &JobId) -> Self {
        Self {
            job_id: job_id.clone(),
            state: JobState::Pending,
        }
    }
}

/// A new pending job to store: under which hash, the job, when it stops mattering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// The request hash.
    pub hash: String,
    /// The job.
    pub info: JobInfo,
    /// When the backend may drop it (a hint; never earlier).
    pub expires_at: Timestamp,
}

/// An owner's write: to which job, what it sets, and when the job then stops mattering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerWrite {
    /// The job it applies to; any other refuses it.
    pub expected: Expected,
    /// What it sets.
    pub change: JobChange,
    /// When the backend may drop the job after the write (a hint; never earlier).
    pub expires_at: Timestamp,
}

/// What an owner's write sets on its job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobChange {
    /// Completed at `at` with the JSON `result`.
    Complete {
        /// When.
        at: Timestamp,
        /// The value's JSON.
        result: Vec<u8>,
    },
    /// Failed at `at` with `error`.
    Fail {
        /// When.
        at: Timestamp,
        /// The message waiters receive.
        error: String,
    },
    /// The lease now runs until `until`.
    Lease {
        /// The lease's new end.
        until: Timestamp,
    },
}

impl JobChange {
    /// Applies the change to `info`.
    pub fn apply(&self, info: &mut JobInfo) {
        match self {
            Self::Complete { at, .. } => {
                info.state = JobState::Completed;
                info.finished_at = Some(*at);
            }
            Self::Fail { at, error } => {
                info.state = JobState::Failed;
                info.finished_at = Some(*at);
                info.error = Some(error.clone());
            }
            Self::Lease { until } => info.lease_until = *until,
        }
    }
}

/// A completed job's result as a cell reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobResult {
    /// The value's JSON.
    Value(Vec<u8>),
    /// The result is gone (e.g. the cache entry holding it was deleted): no result.
    Missing,
    /// Not readable yet (a result still being published, or the job replaced while it
    /// was read): look again.
    NotYet,
}

/// Storage of dedupe jobs, one per request hash. Every write is atomic and lands
/// exactly once (a write whose answer was lost is recognised, not applied twice).
#[async_trait]
pub trait JobCell: Send + Sync {
    /// The backend's record of a stored job (see [`HeldJob::record`]).
    type Record: Send + Sync + 'static;

    /// Stores `job` if no job is stored under its hash; otherwise hands back the
    /// stored one.
    async fn create(&self, job: &NewJob) -> StoreResult<Written<Self::Record>>;

    /// Replaces `seen` with `job` if `seen` is still stored unchanged (whatever was
    /// written to it since refuses the replacement); removes what `seen` leaves behind.
    async fn replace(
        &self,
        seen: &HeldJob<Self::Record>,
        job: &NewJob,
    ) -> StoreResult<Written<Self::Record>>;

    /// Applies `write` to the job of `hash` if it is the one `write` expects; `false`
    /// if it is not.
    async fn write_if(&self, hash: &str, write: &OwnerWrite) -> StoreResult<bool>;

    /// The job of `hash` as stored now, with what is needed to read its result.
    async fn load(&self, hash: &str) -> StoreResult<Option<HeldJob<Self::Record>>>;

    /// The job of `hash` as stored now, without its result.
    async fn info(&self, hash: &str) -> StoreResult<Option<JobInfo>> {
        Ok(self.load(hash).await?.map(|held| held.info))
    }

    /// The result of the completed job `held` (as [`load`](Self::load) returned it).
    async fn result(&self, hash: &str, held: &HeldJob<Self::Record>) -> StoreResult<JobResult>;

    /// A counter bumped on every change, if the cell can tell (see
    /// [`StateCell::changes`]).
    fn changes(&self) -> Option<watch::Receiver<u64>> {
        None
    }
}

/// The job stored in `bytes` with its result, for a cell's transition.
fn held(hash: &str, bytes: &[u8]) -> StoreResult<HeldJob<StoredJob>> {
    let job = decode_job(bytes, &format!("dedupe job {hash}"))?;
    Ok(HeldJob {
        info: job.info.clone(),
        record: job,
    })
}

fn put(job: &StoredJob, expires_at: Timestamp) -> Change {
    Change::Put {
        state: encode_job(job),
        expires_at,
    }
}

fn pending(job: &JobInfo) -> StoredJob {
    StoredJob {
        info: job.clone(),
        result: None,
    }
}

/// Every state cell stores jobs: one encoded [`StoredJob`] per hash, each write one
/// [`StateCell::update`] (the cell's own atomicity and exactly-once).
#[async_trait]
impl<C: StateCell + ?Sized> JobCell for C {
    type Record = StoredJob;

    async fn create(&self, job: &NewJob) -> StoreResult<Written<StoredJob>> {
        let (key, new, expires_at) = (job.hash.clone(), pending(&job.info), job.expires_at);
        decide(self, StateKind::Job, &job.hash, move |bytes| match bytes {
            None => Ok((Written::Stored, put(&new, expires_at))),
            Some(b) => Ok((Written::Held(held(&key, b)?), Change::Keep)),
        })
        .await
    }

    async fn replace(
        &self,
        seen: &HeldJob<StoredJob>,
        job: &NewJob,
    ) -> StoreResult<Written<StoredJob>> {
        let (key, new, expires_at) = (job.hash.clone(), pending(&job.info), job.expires_at);
        let seen = seen.record.clone();
        decide(self, StateKind::Job, &job.hash, move |bytes| match bytes {
            None => Ok((Written::Gone, Change::Keep)),
            Some(b) => {
                let stored = held(&key, b)?;
                if stored.record == seen {
                    Ok((Written::Stored, put(&new, expires_at)))
                } else {
                    Ok((Written::Held(stored), Change::Keep))
                }
            }
        })
        .await
    }

    async fn write_if(&self, hash: &str, write: &OwnerWrite) -> StoreResult<bool> {
        let (key, write) = (hash.to_owned(), write.clone());
        decide(self, StateKind::Job, hash, move |bytes| {
            let Some(mut job) = bytes.map(|b| held(&key, b)).transpose()?.map(|h| h.record) else {
                return Ok((false, Change::Keep));
            };
            let expected = &write.expected;
            if job.info.job_id != expected.job_id || job.info.state != expected.state {
                return Ok((false, Change::Keep));
            }
            write.change.apply(&mut job.info);
            if let JobChange::Complete { result, .. } = &write.change {
                job.result = Some(result.clone());
            }
            Ok((true, put(&job, write.expires_at)))
        })
        .await
    }

    async fn load(&self, hash: &str) -> StoreResult<Option<HeldJob<StoredJob>>> {
        let bytes = StateCell::load(self, StateKind::Job, hash).await?;
        bytes.map(|b| held(hash, &b)).transpose()
    }

    async fn result(&self, hash: &str, held: &HeldJob<StoredJob>) -> StoreResult<JobResult> {
        match &held.record.result {
            Some(json) => Ok(JobResult::Value(json.clone())),
            None => Err(StoreError::Corrupt {
                key: hash.to_owned(),
                reason: "completed job without a result".to_owned(),
            }),
        }
    }

    fn changes(&self) -> Option<watch::Receiver<u64>> {
        StateCell::changes(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryCell;

    fn new_job(id: &str, lease_until: u64) -> NewJob {
        NewJob {
            hash: "h".to_owned(),
            info: JobInfo {
                job_id: JobId::from_string(id),
                state: JobState::Pending,
                created_at: Timestamp::from_millis(0),
                lease_until: Timestamp::from_millis(lease_until),
                finished_at: None,
                error: None,
            },
            expires_at: Timestamp::from_millis(lease_until),
        }
    }

    #[tokio::test]
    async fn a_state_cell_stores_jobs_with_create_replace_and_write_if() {
        let cell = MemoryCell::new();
        assert!(matches!(
            cell.create(&new_job("a", 10)).await.unwrap(),
            Written::Stored
        ));
        let Written::Held(seen) = cell.create(&new_job("b", 10)).await.unwrap() else {
            panic!("a second create is refused with the stored job");
        };
        assert_eq!(seen.info.job_id.as_str(), "a");

        // The owner extends its lease: a replacement decided on the old job is refused,
        // with the job as it is now.
        let lease = OwnerWrite {
            expected: Expected::owner(&JobId::from_string("a")),
            change: JobChange::Lease {
                until: Timestamp::from_millis(20),
            },
            expires_at: Timestamp::from_millis(20),
        };
        assert!(cell.write_if("h", &lease).await.unwrap());
        let Written::Held(now) = cell.replace(&seen, &new_job("b", 30)).await.unwrap() else {
            panic!("a replacement of a changed job is refused");
        };
        assert_eq!(now.info.lease_until, Timestamp::from_millis(20));
        assert!(matches!(
            cell.replace(&now, &new_job("b", 30)).await.unwrap(),
            Written::Stored
        ));

        // The old owner's write no longer applies; nothing changes.
        assert!(!cell.write_if("h", &lease).await.unwrap());
        let stored = JobCell::load(&cell, "h").await.unwrap().unwrap();
        assert_eq!(stored.info.job_id.as_str(), "b");

        StateCell::remove(&cell, StateKind::Job, "h").await.unwrap();
        assert!(matches!(
            cell.replace(&stored, &new_job("c", 40)).await.unwrap(),
            Written::Gone
        ));
    }
}

//! [`CellDedupeStore`]: request deduplication over any [`StateCell`].

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::encoding::{StoredJob, decode_job, encode_job};
use super::{Change, StateCell, StateKind, decide};
use crate::algorithm::jobs::{self, Claim, Visible};
use crate::clock::{SharedClock, Timestamp};
use crate::config::DedupeConfig;
use crate::dedupe::{DedupeStore, JobId, JobInfo, JobOutcome, JobState, Registration};
use crate::error::{StoreError, StoreResult};
use crate::validate;

/// A job's state may be dropped this long after it stopped mattering.
const TTL_MARGIN: Duration = Duration::from_secs(60);

/// The [`DedupeStore`] policy, written once: ownership by [`jobs::claim`], outcomes by
/// [`jobs::visible`], one job state per hash in the cell (its result inline).
///
/// Waiters wake when the cell reports a change ([`StateCell::changes`]) and re-check
/// every `poll_interval` (lease expiry is a matter of time, not of a change); over a
/// cell that cannot report changes they poll, backing off to `max_poll_interval`.
pub struct CellDedupeStore<C: ?Sized, V = serde_json::Value> {
    cell: Arc<C>,
    config: DedupeConfig,
    clock: SharedClock,
    _value: PhantomData<fn() -> V>,
}

impl<C: ?Sized, V> Clone for CellDedupeStore<C, V> {
    fn clone(&self) -> Self {
        Self {
            cell: Arc::clone(&self.cell),
            config: self.config.clone(),
            clock: Arc::clone(&self.clock),
            _value: PhantomData,
        }
    }
}

impl<C: StateCell + ?Sized + 'static, V> CellDedupeStore<C, V> {
    /// A dedupe store with the default configuration over `cell`, reading time from
    /// `clock`.
    pub fn new(cell: Arc<C>, clock: SharedClock) -> Self {
        Self {
            cell,
            config: DedupeConfig::default(),
            clock,
            _value: PhantomData,
        }
    }

    /// The same store with `config` (validated).
    pub fn with_config(&self, config: DedupeConfig) -> StoreResult<Self> {
        config.validate()?;
        Ok(Self {
            config,
            ..self.clone()
        })
    }

    /// A handle on the same cell that reads time from `clock`.
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self {
            clock,
            ..self.clone()
        }
    }

    /// The cell the jobs are kept in.
    pub fn cell(&self) -> &Arc<C> {
        &self.cell
    }

    /// The job of `hash` as stored now.
    async fn stored(&self, hash: &str) -> StoreResult<Option<StoredJob>> {
        validate::key("hash", hash)?;
        let bytes = self.cell.load(StateKind::Job, hash).await?;
        bytes
            .map(|b| decode_job(&b, &format!("dedupe job {hash}")))
            .transpose()
    }

    /// Applies `f` to the caller's own pending job; [`StoreError::NotJobOwner`] if the
    /// caller does not own it.
    async fn finish_owned(
        &self,
        hash: &str,
        job_id: &JobId,
        f: impl Fn(&mut StoredJob) + Send + Sync + 'static,
    ) -> StoreResult<()> {
        validate::key("hash", hash)?;
        let (hash_owned, job_id) = (hash.to_owned(), job_id.clone());
        let config = self.config.clone();
        decide(&*self.cell, StateKind::Job, hash, move |bytes| {
            let what = format!("dedupe job {hash_owned}");
            let job = bytes.map(|b| decode_job(b, &what)).transpose()?;
            match job {
                Some(mut job) if jobs::owns(Some(&job.info), &job_id) => {
                    f(&mut job);
                    Ok(((), put(&job, &config)))
                }
                _ => Err(StoreError::NotJobOwner {
                    hash: hash_owned.clone(),
                    job_id: job_id.to_string(),
                }),
            }
        })
        .await
    }

    /// The outcome visible now, or `None` while the job is pending with a live lease.
    async fn outcome_now(&self, hash: &str) -> StoreResult<Option<JobOutcome<Vec<u8>>>> {
        let job = self.stored(hash).await?;
        let now = self.clock.now();
        let info = job.as_ref().map(|j| &j.info);
        Ok(Some(
            match jobs::visible(info, now, self.config.result_grace) {
                Visible::Pending => return Ok(None),
                Visible::Abandoned => JobOutcome::Abandoned,
                Visible::NotFound => JobOutcome::NotFound,
                Visible::Failed => {
                    JobOutcome::Failed(info.and_then(|i| i.error.clone()).unwrap_or_default())
                }
                Visible::Completed => match job.and_then(|j| j.result) {
                    Some(bytes) => JobOutcome::Completed(bytes),
                    None => {
                        return Err(StoreError::Corrupt {
                            key: hash.to_owned(),
                            reason: "completed job without a result".to_owned(),
                        });
                    }
                },
            },
        ))
    }
}

/// The change storing `job`, with the time after which it no longer matters.
fn put(job: &StoredJob, config: &DedupeConfig) -> Change {
    let expires_at = match job.info.finished_at {
        Some(finished) => finished.saturating_add(config.result_grace),
        None => job.info.lease_until.saturating_add(config.job_timeout),
    }
    .saturating_add(TTL_MARGIN);
    Change::Put {
        state: encode_job(job),
        expires_at,
    }
}

fn finish(job: &mut StoredJob, state: JobState, now: Timestamp) {
    job.info.state = state;
    job.info.finished_at = Some(now);
}

#[async_trait]
impl<C, V> DedupeStore<V> for CellDedupeStore<C, V>
where
    C: StateCell + ?Sized + 'static,
    V: Serialize + DeserializeOwned + Send + Sync,
{
    async fn register_or_join(&self, hash: &str) -> StoreResult<Registration> {
        validate::key("hash", hash)?;
        let now = self.clock.now();
        let (what, config) = (format!("dedupe job {hash}"), self.config.clone());
        decide(&*self.cell, StateKind::Job, hash, move |bytes| {
            let existing = bytes.map(|b| decode_job(b, &what)).transpose()?;
            let info = existing.as_ref().map(|j| &j.info);
            Ok(match jobs::claim(info, now, config.result_grace) {
                Claim::Join => {
                    let job_id = info.map_or_else(JobId::random, |j| j.job_id.clone());
                    (Registration::Joined { job_id }, Change::Keep)
                }
                Claim::Own { took_over } => {
                    let job_id = JobId::random();
                    let job = StoredJob {
                        info: JobInfo {
                            job_id: job_id.clone(),
                            state: JobState::Pending,
                            created_at: now,
                            lease_until: now.saturating_add(config.lease),
                            finished_at: None,
                            error: None,
                        },
                        result: None,
                    };
                    let change = put(&job, &config);
                    (Registration::Owner { job_id, took_over }, change)
                }
            })
        })
        .await
    }

    async fn complete(&self, hash: &str, job_id: &JobId, value: &V) -> StoreResult<()> {
        let json = serde_json::to_vec(value)?;
        let now = self.clock.now();
        self.finish_owned(hash, job_id, move |job| {
            finish(job, JobState::Completed, now);
            job.result = Some(json.clone());
        })
        .await
    }

    async fn fail(&self, hash: &str, job_id: &JobId, error: &str) -> StoreResult<()> {
        let (now, error) = (self.clock.now(), error.to_owned());
        self.finish_owned(hash, job_id, move |job| {
            finish(job, JobState::Failed, now);
            job.info.error = Some(error.clone());
        })
        .await
    }

    async fn extend_lease(&self, hash: &str, job_id: &JobId) -> StoreResult<()> {
        let until = self.clock.now().saturating_add(self.config.lease);
        self.finish_owned(hash, job_id, move |job| job.info.lease_until = until)
            .await
    }

    async fn is_in_progress(&self, hash: &str) -> StoreResult<bool> {
        let job = self.stored(hash).await?;
        Ok(jobs::in_progress(
            job.as_ref().map(|j| &j.info),
            self.clock.now(),
        ))
    }

    async fn wait_for(&self, hash: &str) -> StoreResult<JobOutcome<V>> {
        validate::key("hash", hash)?;
        let mut changes = self.cell.changes();
        let deadline = tokio::time::Instant::now() + self.config.job_timeout;
        let mut delay = self.config.poll_interval;
        loop {
            if let Some(c) = changes.as_mut() {
                c.mark_unchanged();
            }
            if let Some(outcome) = self.outcome_now(hash).await? {
                return Ok(match outcome {
                    JobOutcome::Completed(bytes) => {
                        JobOutcome::Completed(serde_json::from_slice(&bytes)?)
                    }
                    JobOutcome::Failed(e) => JobOutcome::Failed(e),
                    JobOutcome::Abandoned => JobOutcome::Abandoned,
                    JobOutcome::NotFound => JobOutcome::NotFound,
                    JobOutcome::TimedOut => JobOutcome::TimedOut,
                });
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(JobOutcome::TimedOut);
            }
            let tick = delay.min(deadline - now);
            match changes.as_mut() {
                // A change or the tick: either way, look again.
                Some(c) => drop(tokio::time::timeout(tick, c.changed()).await),
                None => {
                    tokio::time::sleep(tick).await;
                    delay = delay.saturating_mul(2).min(self.config.max_poll_interval);
                }
            }
        }
    }

    async fn job(&self, hash: &str) -> StoreResult<Option<JobInfo>> {
        Ok(self.stored(hash).await?.map(|j| j.info))
    }
}

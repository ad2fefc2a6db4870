//! [`CellDedupeStore`]: request deduplication over any [`JobCell`] (every
//! [`StateCell`](super::StateCell) is one).

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::jobs::{Expected, JobCell, JobChange, JobResult, NewJob, OwnerWrite, Written};
use super::on::CellOn;
use crate::algorithm::jobs::{self, Claim, Visible};
use crate::clock::{SharedClock, Timestamp};
use crate::config::DedupeConfig;
use crate::dedupe::{DedupeStore, JobId, JobInfo, JobOutcome, JobState, Registration, Seen};
use crate::error::{StoreError, StoreResult};
use crate::validate;

/// A job's state may be dropped this long after it stopped mattering.
const TTL_MARGIN: Duration = Duration::from_secs(60);
/// Registrations tried against jobs that keep changing before
/// [`StoreError::Contention`].
const REGISTER_ATTEMPTS: u32 = 16;

/// The [`DedupeStore`] policy, written once: ownership by [`jobs::claim`], outcomes by
/// [`jobs::visible`], the owner's writes by [`Expected::owner`]; the cell only stores.
///
/// Registration first *creates* the job (one write, which succeeds when the hash is
/// free); a refusal hands back the stored job, which the caller joins, or replaces
/// when [`jobs::claim`] lets it own (a takeover: a second write, conditional on the job
/// seen).
///
/// Waiters wake when the cell reports a change ([`JobCell::changes`]) and re-check
/// every `poll_interval` (lease expiry is a matter of time, not of a change); over a
/// cell that cannot report changes they poll, backing off to `max_poll_interval`.
pub struct CellDedupeStore<C: ?Sized, V = serde_json::Value> {
    on: CellOn<C>,
    config: DedupeConfig,
    _value: PhantomData<fn() -> V>,
}

impl<C: ?Sized, V> Clone for CellDedupeStore<C, V> {
    fn clone(&self) -> Self {
        Self {
            on: self.on.clone(),
            config: self.config.clone(),
            _value: PhantomData,
        }
    }
}

impl<C: JobCell + ?Sized + 'static, V> CellDedupeStore<C, V> {
    /// A dedupe store with the default configuration over `cell`, reading time from
    /// `clock`.
    pub fn new(cell: Arc<C>, clock: SharedClock) -> Self {
        Self {
            on: CellOn { cell, clock },
            config: DedupeConfig::default(),
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
            on: self.on.with_clock(clock),
            ..self.clone()
        }
    }

    /// The cell the jobs are kept in.
    pub fn cell(&self) -> &Arc<C> {
        &self.on.cell
    }

    /// The settings in force.
    pub fn config(&self) -> &DedupeConfig {
        &self.config
    }

    /// `register_or_join`, by [`jobs::claim_after`] with what the caller `seen`.
    async fn register(&self, hash: &str, seen: Option<Seen>) -> StoreResult<Registration> {
        validate::key("hash", hash)?;
        let now = self.on.clock.now();
        let job_id = JobId::random();
        let lease_until = now.saturating_add(self.config.lease);
        let job = NewJob {
            hash: hash.to_owned(),
            info: JobInfo {
                job_id: job_id.clone(),
                state: JobState::Pending,
                created_at: now,
                lease_until,
                finished_at: None,
                error: None,
            },
            expires_at: self.pending_expiry(lease_until),
        };
        let mut written = self.on.cell.create(&job).await?;
        for _ in 0..REGISTER_ATTEMPTS {
            let took_over = match written {
                Written::Stored => {
                    return Ok(Registration::Owner {
                        job_id,
                        took_over: false,
                    });
                }
                Written::Gone => {
                    written = self.on.cell.create(&job).await?;
                    continue;
                }
                Written::Held(stored) => {
                    match jobs::claim_after(Some(&stored.info), now, self.config.result_grace, seen)
                    {
                        Claim::Join => {
                            return Ok(Registration::Joined {
                                job_id: stored.info.job_id,
                            });
                        }
                        Claim::Own { took_over } => {
                            written = self.on.cell.replace(&stored, &job).await?;
                            took_over
                        }
                    }
                }
            };
            if matches!(written, Written::Stored) {
                return Ok(Registration::Owner { job_id, took_over });
            }
        }
        Err(StoreError::Contention {
            key: hash.to_owned(),
            attempts: REGISTER_ATTEMPTS,
        })
    }

    /// When a pending job whose lease runs until `lease_until` stops mattering.
    fn pending_expiry(&self, lease_until: Timestamp) -> Timestamp {
        lease_until
            .saturating_add(self.config.job_timeout)
            .saturating_add(TTL_MARGIN)
    }

    /// When a job finished at `at` stops mattering.
    fn finished_expiry(&self, at: Timestamp) -> Timestamp {
        at.saturating_add(self.config.result_grace)
            .saturating_add(TTL_MARGIN)
    }

    /// Applies `write` to the caller's own pending job; [`StoreError::NotJobOwner`] if
    /// the caller does not own it.
    async fn write_owned(&self, hash: &str, job_id: &JobId, change: JobChange) -> StoreResult<()> {
        validate::key("hash", hash)?;
        let expires_at = match &change {
            JobChange::Complete { at, .. } | JobChange::Fail { at, .. } => {
                self.finished_expiry(*at)
            }
            JobChange::Lease { until } => self.pending_expiry(*until),
        };
        let write = OwnerWrite {
            expected: Expected::owner(job_id),
            change,
            expires_at,
        };
        if self.on.cell.write_if(hash, &write).await? {
            Ok(())
        } else {
            Err(StoreError::NotJobOwner {
                hash: hash.to_owned(),
                job_id: job_id.to_string(),
            })
        }
    }

    /// The outcome visible now (the result as JSON bytes), or `None` while the job is
    /// pending with a live lease (or its result is not readable yet): one look,
    /// for a backend that runs its own wait loop.
    pub async fn outcome_now(&self, hash: &str) -> StoreResult<Option<JobOutcome<Vec<u8>>>> {
        validate::key("hash", hash)?;
        let held = self.on.cell.load(hash).await?;
        let now = self.on.clock.now();
        let info = held.as_ref().map(|h| &h.info);
        Ok(Some(
            match jobs::visible(info, now, self.config.result_grace) {
                Visible::Pending => return Ok(None),
                Visible::Abandoned => JobOutcome::Abandoned,
                Visible::NotFound => JobOutcome::NotFound,
                Visible::Failed => {
                    JobOutcome::Failed(info.and_then(|i| i.error.clone()).unwrap_or_default())
                }
                Visible::Completed => {
                    let Some(held) = &held else {
                        return Ok(Some(JobOutcome::NotFound));
                    };
                    match self.on.cell.result(hash, held).await? {
                        JobResult::Value(json) => JobOutcome::Completed(json),
                        JobResult::Missing => JobOutcome::NotFound,
                        JobResult::NotYet => return Ok(None),
                    }
                }
            },
        ))
    }
}

/// A waiter's outcome with its value decoded from the result's JSON.
pub fn decode_outcome<V: DeserializeOwned>(
    outcome: JobOutcome<impl AsRef<[u8]>>,
) -> StoreResult<JobOutcome<V>> {
    Ok(match outcome {
        JobOutcome::Completed(json) => {
            JobOutcome::Completed(serde_json::from_slice(json.as_ref())?)
        }
        JobOutcome::Failed(message) => JobOutcome::Failed(message),
        JobOutcome::Abandoned => JobOutcome::Abandoned,
        JobOutcome::NotFound => JobOutcome::NotFound,
        JobOutcome::TimedOut => JobOutcome::TimedOut,
    })
}

#[async_trait]
impl<C, V> DedupeStore<V> for CellDedupeStore<C, V>
where
    C: JobCell + ?Sized + 'static,
    V: Serialize + DeserializeOwned + Send + Sync,
{
    async fn register_or_join(&self, hash: &str) -> StoreResult<Registration> {
        self.register(hash, None).await
    }

    async fn register_or_join_after(&self, hash: &str, seen: Seen) -> StoreResult<Registration> {
        self.register(hash, Some(seen)).await
    }

    async fn complete(&self, hash: &str, job_id: &JobId, value: &V) -> StoreResult<()> {
        let result = serde_json::to_vec(value)?;
        let at = self.on.clock.now();
        self.write_owned(hash, job_id, JobChange::Complete { at, result })
            .await
    }

    async fn fail(&self, hash: &str, job_id: &JobId, error: &str) -> StoreResult<()> {
        let (at, error) = (self.on.clock.now(), error.to_owned());
        self.write_owned(hash, job_id, JobChange::Fail { at, error })
            .await
    }

    async fn extend_lease(&self, hash: &str, job_id: &JobId) -> StoreResult<()> {
        let until = self.on.clock.now().saturating_add(self.config.lease);
        self.write_owned(hash, job_id, JobChange::Lease { until })
            .await
    }

    async fn is_in_progress(&self, hash: &str) -> StoreResult<bool> {
        validate::key("hash", hash)?;
        let info = self.on.cell.info(hash).await?;
        Ok(jobs::in_progress(info.as_ref(), self.on.clock.now()))
    }
    async fn wait_for(&self, hash: &str) -> StoreResult<JobOutcome<V>> {
        validate::key("hash", hash)?;
        let mut changes = self.on.cell.changes();
        let deadline = tokio::time::Instant::now() + self.config.job_timeout;
        let mut delay = self.config.poll_interval;
        loop {
            if let Some(c) = changes.as_mut() {
                c.mark_unchanged();
            }
            if let Some(outcome) = self.outcome_now(hash).await? {
                return decode_outcome(outcome);
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
        validate::key("hash", hash)?;
        self.on.cell.info(hash).await
    }
}

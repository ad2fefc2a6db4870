use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use super::lock;
use crate::algorithm::jobs::{self, Claim};
use crate::clock::{SharedClock, SystemClock};
use crate::config::DedupeConfig;
use crate::dedupe::{DedupeStore, JobId, JobInfo, JobOutcome, JobState, Registration};
use crate::error::{StoreError, StoreResult};
use crate::validate;

struct Job {
    info: JobInfo,
    result: Option<Arc<[u8]>>,
}

struct Shared {
    jobs: Mutex<HashMap<String, Job>>,
    /// Bumped on every change, so waiters wake at once instead of polling.
    changed: watch::Sender<u64>,
}

/// An in-memory [`DedupeStore`].
///
/// Waiters are woken by a notification when a job changes; they also re-check every
/// `poll_interval` so that lease expiry (which is a matter of time, not of a change)
/// is noticed, with any clock.
pub struct MemoryDedupeStore<V = serde_json::Value> {
    shared: Arc<Shared>,
    clock: SharedClock,
    config: DedupeConfig,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for MemoryDedupeStore<V> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            clock: Arc::clone(&self.clock),
            config: self.config.clone(),
            _value: PhantomData,
        }
    }
}

impl<V> Default for MemoryDedupeStore<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> MemoryDedupeStore<V> {
    /// An empty store with the default configuration and the system clock.
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                jobs: Mutex::default(),
                changed: watch::channel(0).0,
            }),
            clock: Arc::new(SystemClock),
            config: DedupeConfig::default(),
            _value: PhantomData,
        }
    }

    /// An empty store with `config` (validated).
    pub fn with_config(config: DedupeConfig) -> StoreResult<Self> {
        config.validate()?;
        Ok(Self {
            config,
            ..Self::new()
        })
    }

    /// A handle on the same jobs that reads time from `clock`.
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self {
            clock,
            ..self.clone()
        }
    }

    fn notify(&self) {
        self.shared.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Applies `f` to the caller's own pending job.
    fn finish_owned(
        &self,
        hash: &str,
        job_id: &JobId,
        f: impl FnOnce(&mut Job),
    ) -> StoreResult<()> {
        validate::key("hash", hash)?;
        {
            let mut jobs = lock(&self.shared.jobs);
            match jobs.get_mut(hash) {
                Some(job) if job.info.job_id == *job_id && job.info.state == JobState::Pending => {
                    f(job)
                }
                _ => {
                    return Err(StoreError::NotJobOwner {
                        hash: hash.to_owned(),
                        job_id: job_id.to_string(),
                    });
                }
            }
        }
        self.notify();
        Ok(())
    }

    /// The outcome visible now, or `None` while the job is pending with a live lease.
    fn outcome_now(&self, hash: &str) -> Option<StoreResult<JobOutcome<Arc<[u8]>>>> {
        let now = self.clock.now();
        let jobs = lock(&self.shared.jobs);
        let Some(job) = jobs.get(hash) else {
            return Some(Ok(JobOutcome::NotFound));
        };
        let info = &job.info;
        Some(Ok(match info.state {
            JobState::Pending if info.lease_until > now => return None,
            JobState::Pending => JobOutcome::Abandoned,
            _ if !jobs::in_grace(info, now, self.config.result_grace) => JobOutcome::NotFound,
            JobState::Completed => match &job.result {
                Some(bytes) => JobOutcome::Completed(Arc::clone(bytes)),
                None => {
                    return Some(Err(StoreError::Corrupt {
                        key: hash.to_owned(),
                        reason: "completed job without a result".to_owned(),
                    }));
                }
            },
            JobState::Failed => JobOutcome::Failed(info.error.clone().unwrap_or_default()),
        }))
    }
}

#[async_trait]
impl<V> DedupeStore<V> for MemoryDedupeStore<V>
where
    V: Serialize + DeserializeOwned + Send + Sync,
{
    async fn register_or_join(&self, hash: &str) -> StoreResult<Registration> {
        validate::key("hash", hash)?;
        let now = self.clock.now();
        let registration = {
            let mut jobs = lock(&self.shared.jobs);
            let existing = jobs.get(hash).map(|j| &j.info);
            match jobs::claim(existing, now, self.config.result_grace) {
                Claim::Join => Registration::Joined {
                    job_id: existing
                        .map(|j| j.job_id.clone())
                        .unwrap_or_else(JobId::random),
                },
                Claim::Own { took_over } => {
                    let job_id = JobId::random();
                    let info = JobInfo {
                        job_id: job_id.clone(),
                        state: JobState::Pending,
                        created_at: now,
                        lease_until: now.saturating_add(self.config.lease),
                        finished_at: None,
                        error: None,
                    };
                    jobs.insert(hash.to_owned(), Job { info, result: None });
                    Registration::Owner { job_id, took_over }
                }
            }
        };
        if registration.is_owner() {
            self.notify();
        }
        Ok(registration)
    }

    async fn complete(&self, hash: &str, job_id: &JobId, value: &V) -> StoreResult<()> {
        let bytes: Arc<[u8]> = serde_json::to_vec(value)?.into();
        let now = self.clock.now();
        self.finish_owned(hash, job_id, |job| {
            job.info.state = JobState::Completed;
            job.info.finished_at = Some(now);
            job.result = Some(bytes);
        })
    }

    async fn fail(&self, hash: &str, job_id: &JobId, error: &str) -> StoreResult<()> {
        let now = self.clock.now();
        self.finish_owned(hash, job_id, |job| {
            job.info.state = JobState::Failed;
            job.info.finished_at = Some(now);
            job.info.error = Some(error.to_owned());
        })
    }

    async fn extend_lease(&self, hash: &str, job_id: &JobId) -> StoreResult<()> {
        let until = self.clock.now().saturating_add(self.config.lease);
        self.finish_owned(hash, job_id, |job| job.info.lease_until = until)
    }

    async fn is_in_progress(&self, hash: &str) -> StoreResult<bool> {
        validate::key("hash", hash)?;
        let now = self.clock.now();
        Ok(lock(&self.shared.jobs)
            .get(hash)
            .is_some_and(|j| j.info.state == JobState::Pending && j.info.lease_until > now))
    }

    async fn wait_for(&self, hash: &str) -> StoreResult<JobOutcome<V>> {
        validate::key("hash", hash)?;
        let mut changes = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + self.config.job_timeout;
        loop {
            changes.mark_unchanged();
            if let Some(outcome) = self.outcome_now(hash) {
                return Ok(match outcome? {
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
            let tick = self.config.poll_interval.min(deadline - now);
            // A change or the tick: either way, look again.
            let _ = tokio::time::timeout(tick, changes.changed()).await;
        }
    }

    async fn job(&self, hash: &str) -> StoreResult<Option<JobInfo>> {
        validate::key("hash", hash)?;
        Ok(lock(&self.shared.jobs).get(hash).map(|j| j.info.clone()))
    }
}

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::MemoryCell;
use crate::cell::CellDedupeStore;
use crate::clock::{SharedClock, SystemClock};
use crate::config::DedupeConfig;
use crate::dedupe::{DedupeStore, JobId, JobInfo, JobOutcome, Registration, Seen};
use crate::error::StoreResult;

/// An in-memory [`DedupeStore`]: the core's [`CellDedupeStore`] over a [`MemoryCell`].
///
/// Waiters are woken by a notification when a job changes; they also re-check every
/// `poll_interval` so that lease expiry (which is a matter of time, not of a change)
/// is noticed, with any clock.
pub struct MemoryDedupeStore<V = serde_json::Value> {
    pub(super) inner: CellDedupeStore<MemoryCell, V>,
}

impl<V> Clone for MemoryDedupeStore<V> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
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
            inner: CellDedupeStore::new(Arc::new(MemoryCell::new()), Arc::new(SystemClock)),
        }
    }

    /// An empty store with `config` (validated).
    pub fn with_config(config: DedupeConfig) -> StoreResult<Self> {
        Ok(Self {
            inner: Self::new().inner.with_config(config)?,
        })
    }

    /// A handle on the same jobs that reads time from `clock`.
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self {
            inner: self.inner.with_clock(clock),
        }
    }
}

#[async_trait]
impl<V> DedupeStore<V> for MemoryDedupeStore<V>
where
    V: Serialize + DeserializeOwned + Send + Sync,
{
    async fn register_or_join(&self, hash: &str) -> StoreResult<Registration> {
        self.inner.register_or_join(hash).await
    }

    async fn register_or_join_after(&self, hash: &str, seen: Seen) -> StoreResult<Registration> {
        self.inner.register_or_join_after(hash, seen).await
    }

    async fn complete(&self, hash: &str, job_id: &JobId, value: &V) -> StoreResult<()> {
        self.inner.complete(hash, job_id, value).await
    }

    async fn fail(&self, hash: &str, job_id: &JobId, error: &str) -> StoreResult<()> {
        self.inner.fail(hash, job_id, error).await
    }

    async fn extend_lease(&self, hash: &str, job_id: &JobId) -> StoreResult<()> {
        self.inner.extend_lease(hash, job_id).await
    }

    async fn is_in_progress(&self, hash: &str) -> StoreResult<bool> {
        self.inner.is_in_progress(hash).await
    }

    async fn wait_for(&self, hash: &str) -> StoreResult<JobOutcome<V>> {
        self.inner.wait_for(hash).await
    }

    async fn job(&self, hash: &str) -> StoreResult<Option<JobInfo>> {
        self.inner.job(hash).await
    }
}

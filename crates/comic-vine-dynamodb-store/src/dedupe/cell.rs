//! `Jobs` as the core's [`JobCell`]: each operation one request of this layout (see
//! the module docs of [`super`]).

use async_trait::async_trait;
use comic_vine_store::cell::JobCell;
use comic_vine_store::cell::jobs::{Expected, HeldJob, JobResult, OwnerWrite, Written};
use comic_vine_store::{JobInfo, StoreResult, Timestamp};

use super::Jobs;
use crate::item::Item;

#[async_trait]
impl JobCell for Jobs {
    /// The job's item as read (its result's location; its job, state and lease are
    /// what a replacement is conditional on).
    type Record = Item;

    async fn create(
        &self,
        hash: &str,
        job: &JobInfo,
        expires_at: Timestamp,
    ) -> StoreResult<Written<Item>> {
        self.create_job(hash, job, expires_at).await
    }

    async fn replace(
        &self,
        hash: &str,
        seen: &HeldJob<Item>,
        job: &JobInfo,
        expires_at: Timestamp,
    ) -> StoreResult<Written<Item>> {
        self.replace_job(hash, seen, job, expires_at).await
    }

    async fn write_if(
        &self,
        hash: &str,
        expected: &Expected,
        write: &OwnerWrite,
        expires_at: Timestamp,
    ) -> StoreResult<bool> {
        self.write_expected(hash, expected, write, expires_at).await
    }

    async fn load(&self, hash: &str) -> StoreResult<Option<HeldJob<Item>>> {
        self.load_job(hash).await
    }

    async fn info(&self, hash: &str) -> StoreResult<Option<JobInfo>> {
        Jobs::info(self, hash).await
    }

    async fn result(&self, hash: &str, held: &HeldJob<Item>) -> StoreResult<JobResult> {
        self.job_result(hash, held).await
    }
}

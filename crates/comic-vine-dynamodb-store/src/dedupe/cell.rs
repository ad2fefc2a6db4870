//! `Jobs` as the core's [`JobCell`]: each operation one request of this layout (see
//! the module docs of [`super`]).

use async_trait::async_trait;
use comic_vine_store::cell::JobCell;
use comic_vine_store::cell::jobs::{HeldJob, JobResult, NewJob, OwnerWrite, Written};
use comic_vine_store::{JobInfo, StoreResult};

use super::Jobs;
use crate::item::Item;

#[async_trait]
impl JobCell for Jobs {
    /// The job's item as read (its result's location; its job, state and lease are
    /// what a replacement is conditional on).
    type Record = Item;

    async fn create(&self, job: &NewJob) -> StoreResult<Written<Item>> {
        self.put_job(job, None).await
    }

    async fn replace(&self, seen: &HeldJob<Item>, job: &NewJob) -> StoreResult<Written<Item>> {
        self.put_job(job, Some(seen)).await
    }

    async fn write_if(&self, hash: &str, write: &OwnerWrite) -> StoreResult<bool> {
        self.write_expected(hash, write).await
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

//! The writes of a registration: *create* a job item if none is stored (one
//! conditional PutItem, refused with the stored item), and *replace* the item seen (a
//! takeover: one PutItem conditional on the item being unchanged).
//!
//! Whether to join, take over or own is decided by the core's `CellDedupeStore` on the
//! item these hand back; the conditions here only say "absent" and "unchanged".

use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use comic_vine_store::StoreResult;
use comic_vine_store::cell::jobs::{HeldJob, NewJob, Written};

use super::Jobs;
use super::job_item::{job_info, state_str};
use crate::attributes::job::{CHUNK_COUNT, CREATED_AT, JOB_ID, LEASE_UNTIL, PENDING, STATUS};
use crate::item::{self, Fields, Item};
use crate::keys;
use crate::request::Condition;
use crate::table::{PK, TTL};

/// No job is stored: no item, or an expired one of an older layout (no job id).
const ABSENT: &str =
    "attribute_not_exists(#PK) OR (attribute_not_exists(#JID) AND #TTL <= :nowsecs)";
/// The item is still the one seen: the same job, state and lease (every write to a
/// job changes one of them).
const UNCHANGED: &str = "#JID = :jid AND #ST = :st AND #LU = :lu";

impl Jobs {
    /// The item of the new pending job `job`.
    fn pending_item(&self, job: &NewJob) -> Item {
        let info = &job.info;
        let mut item = item::key(keys::dedupe_job(&job.hash));
        item.insert(JOB_ID.to_owned(), item::s(info.job_id.as_str()));
        item.insert(STATUS.to_owned(), item::s(state_str(info.state)));
        item.insert(CREATED_AT.to_owned(), item::n(info.created_at.as_millis()));
        item.insert(
            LEASE_UNTIL.to_owned(),
            item::n(info.lease_until.as_millis()),
        );
        item.insert(TTL.to_owned(), item::n(self.ttl(job.expires_at)));
        item
    }

    /// One PutItem of `job`: if no job is stored (`over` is `None`), else over the job
    /// `over` if it is unchanged; a refusal hands back the stored job. A replaced job's
    /// result chunks are removed (best effort: their TTL removes them otherwise).
    pub(super) async fn put_job(
        &self,
        job: &NewJob,
        over: Option<&HeldJob<Item>>,
    ) -> StoreResult<Written<Item>> {
        let mut put = self
            .table
            .put_item(self.pending_item(job))
            .expression_attribute_names("#JID", JOB_ID)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        put = match over {
            None => put
                .condition_expression(ABSENT)
                .expression_attribute_names("#PK", PK)
                .expression_attribute_names("#TTL", TTL)
                .expression_attribute_values(":nowsecs", item::n(self.clock.now().as_secs())),
            Some(seen) => {
                let was = |name: &str| seen.record.get(name).cloned().unwrap_or(item::s(""));
                put.condition_expression(UNCHANGED)
                    .expression_attribute_names("#ST", STATUS)
                    .expression_attribute_names("#LU", LEASE_UNTIL)
                    .expression_attribute_values(":jid", was(JOB_ID))
                    .expression_attribute_values(":st", was(STATUS))
                    .expression_attribute_values(":lu", was(LEASE_UNTIL))
                    .return_values(ReturnValue::AllOld)
            }
        };
        let sent = self.table.send_if(&self.gate.metrics, put).await?;
        let (written, old) = self.answer(job, sent)?;
        if let Some(old) = old
            && let Err(e) = self.discard_chunks(&job.hash, &old).await
        {
            let hash = job.hash.as_str();
            tracing::warn!(hash, error = %e, "could not remove a replaced job's result chunks");
        }
        Ok(written)
    }

    /// What a registration PutItem of `job` answered, and the item it replaced.
    fn answer(
        &self,
        job: &NewJob,
        sent: Condition<PutItemOutput>,
    ) -> StoreResult<(Written<Item>, Option<Item>)> {
        let stored = match sent {
            Condition::Met(out) => return Ok((Written::Stored, out.attributes)),
            Condition::Failed(None) => return Ok((Written::Gone, None)),
            Condition::Failed(Some(stored)) => stored,
        };
        let info = job_info(&stored, &format!("dedupe job {}", job.hash))?;
        if info.job_id == job.info.job_id {
            // Our own job: the write landed, its answer was lost and the SDK retried it.
            // (Which job it replaced is lost with it; the chunks' TTL removes them.)
            return Ok((Written::Stored, None));
        }
        Ok((
            Written::Held(HeldJob {
                info,
                record: stored,
            }),
            None,
        ))
    }

    /// Removes the result chunks of a replaced job: those its item names, or for a
    /// pending job (whose owner may have died while writing them) those a Query finds.
    pub(super) async fn discard_chunks(&self, hash: &str, old: &Item) -> StoreResult<()> {
        let what = format!("dedupe job {hash}");
        let fields = Fields::new(old, &what);
        let old_id = fields.s(JOB_ID)?;
        match fields.opt_n(CHUNK_COUNT)? {
            Some(count) => {
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                self.chunks(hash).delete(old_id, count).await
            }
            None if fields.s(STATUS)? == PENDING => self.chunks(hash).delete_found(old_id).await,
            None => Ok(()),
        }
    }
}

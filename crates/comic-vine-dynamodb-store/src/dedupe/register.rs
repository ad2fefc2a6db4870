//! Registration: one conditional PutItem that owns or joins.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnConsumedCapacity, ReturnValue, ReturnValuesOnConditionCheckFailure,
};
use comic_vine_store::clock::duration_millis;
use comic_vine_store::{JobId, Registration, StoreError, StoreResult, Timestamp};

use super::Jobs;
use super::job_item::OLDER_JOB_REMEDY;
use crate::attributes::job::{
    CHUNK_COUNT, COMPLETED, CREATED_AT, FAILED, FINISHED_AT, JOB_ID, LEASE_UNTIL, PENDING, STATUS,
};
use crate::attributes::require_current;
use crate::item::{self, Fields, Item};
use crate::keys;
use crate::metrics::Access;
use crate::table::{PK, TTL};

/// Who may register: nobody holds a live job (the rule of [`jobs::claim`], evaluated by
/// DynamoDB at the caller's `:now`; `:edge` is `:now` minus the result grace), or the
/// item is an expired one of an older layout (no job id).
pub(super) const REGISTER_CONDITION: &str = "attribute_not_exists(#PK) \
     OR (#ST = :pending AND #LU <= :now) \
     OR (#ST = :completed AND (attribute_not_exists(#FIN) OR #FIN <= :edge)) \
     OR #ST = :failed \
     OR (attribute_not_exists(#JID) AND #TTL <= :nowsecs)";

impl Jobs {
    /// The item of a new pending job registered at `now`.
    pub(super) fn pending_job(&self, hash: &str, job_id: &JobId, now: Timestamp) -> Item {
        let lease_until = now.saturating_add(self.config.lease);
        let mut job = item::key(keys::dedupe_job(hash));
        job.insert(JOB_ID.to_owned(), item::s(job_id.as_str()));
        job.insert(STATUS.to_owned(), item::s(PENDING));
        job.insert(CREATED_AT.to_owned(), item::n(now.as_millis()));
        job.insert(LEASE_UNTIL.to_owned(), item::n(lease_until.as_millis()));
        job.insert(TTL.to_owned(), item::n(self.pending_ttl(lease_until)));
        job
    }

    /// One conditional PutItem: a new pending job, or the existing job to join.
    pub(super) async fn register_or_join(&self, hash: &str) -> StoreResult<Registration> {
        let now = self.clock.now();
        let job_id = JobId::random();
        let job = self.pending_job(hash, &job_id, now);
        // Finished at or before `edge`: the result grace is over.
        let edge =
            i128::from(now.as_millis()) - i128::from(duration_millis(self.config.result_grace));
        let sent = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(job))
            .condition_expression(REGISTER_CONDITION)
            .expression_attribute_names("#PK", PK)
            .expression_attribute_names("#ST", STATUS)
            .expression_attribute_names("#LU", LEASE_UNTIL)
            .expression_attribute_names("#FIN", FINISHED_AT)
            .expression_attribute_names("#JID", JOB_ID)
            .expression_attribute_names("#TTL", TTL)
            .expression_attribute_values(":nowsecs", item::n(now.as_secs()))
            .expression_attribute_values(":pending", item::s(PENDING))
            .expression_attribute_values(":completed", item::s(COMPLETED))
            .expression_attribute_values(":failed", item::s(FAILED))
            .expression_attribute_values(":now", item::n(now.as_millis()))
            .expression_attribute_values(":edge", AttributeValue::N(edge.to_string()))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match sent {
            Ok(out) => {
                self.gate
                    .metrics
                    .request(Access::Write, out.consumed_capacity());
                let took_over = match &out.attributes {
                    Some(old) => self.replaced(hash, old).await,
                    None => false,
                };
                Ok(Registration::Owner { job_id, took_over })
            }
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(held)) => {
                    self.gate.metrics.request(Access::Write, None);
                    match joined(hash, held.item())? {
                        // Our own job holds it: the write landed, its answer was lost and
                        // the SDK retried. (Whether it took a job over is lost with it.)
                        Registration::Joined { job_id: held } if held == job_id => {
                            Ok(Registration::Owner {
                                job_id,
                                took_over: false,
                            })
                        }
                        joined => Ok(joined),
                    }
                }
                _ => Err(self.table.error("PutItem", e)),
            },
        }
    }

    /// Handles the job a registration replaced: whether it was a pending job taken over;
    /// its result chunks are removed (best effort: their TTL removes them otherwise).
    pub(super) async fn replaced(&self, hash: &str, old: &Item) -> bool {
        let took_over = old
            .get(STATUS)
            .and_then(|s| s.as_s().ok())
            .map(String::as_str)
            == Some(PENDING);
        if let Err(e) = self.discard_chunks(hash, old, took_over).await {
            tracing::warn!(hash, error = %e, "could not remove a replaced job's result chunks");
        }
        took_over
    }

    /// Removes the result chunks of a replaced job: those its item names, or for a
    /// pending job (whose owner may have died while writing them) those a Query finds.
    pub(super) async fn discard_chunks(
        &self,
        hash: &str,
        old: &Item,
        pending: bool,
    ) -> StoreResult<()> {
        let what = format!("dedupe job {hash}");
        let fields = Fields::new(old, &what);
        let old_id = fields.s(JOB_ID)?;
        match fields.opt_n(CHUNK_COUNT)? {
            Some(count) => {
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                self.chunks(hash).delete(old_id, count).await
            }
            None if pending => self.chunks(hash).delete_found(old_id).await,
            None => Ok(()),
        }
    }
}

/// The registration of a caller whose PutItem found `held`, the live job.
pub(super) fn joined(hash: &str, held: Option<&Item>) -> StoreResult<Registration> {
    let what = format!("dedupe job {hash}");
    let held = held.ok_or_else(|| StoreError::Backend {
        message: format!("registration of {what} was refused without the job that holds it"),
        source: None,
    })?;
    require_current(held, JOB_ID, &what, OLDER_JOB_REMEDY)?;
    let job_id = JobId::from_string(Fields::new(held, &what).s(JOB_ID)?);
    Ok(Registration::Joined { job_id })
}

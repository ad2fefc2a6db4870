//! The owner's writes: `complete`, `fail` and `extend_lease`, each one conditional
//! UpdateItem (a chunked result adds its chunk writes first).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
};
use comic_vine_store::{JobId, StoreError, StoreResult};

use super::Jobs;
use crate::attributes::job::{
    CHUNK_COUNT, COMPLETED, ENCODING, ERROR, FAILED, FINISHED_AT, JOB_ID, LEASE_UNTIL, PENDING,
    RAW_LEN, STATUS, VALUE,
};
use crate::codec;
use crate::item::{self, Item};
use crate::keys;
use crate::metrics::Access;
use crate::table::TTL;

/// Only the owner of a pending job changes it.
pub(super) const OWNER_CONDITION: &str = "#JID = :jid AND #ST = :pending";
/// Result chunks outlive their job item by this much, so a reader holding the item
/// finds them.
pub(super) const CHUNK_TTL_MARGIN: Duration = Duration::from_secs(3600);

impl Jobs {
    /// Finishes the caller's job with the JSON `json`: chunks first if it is over one
    /// item (removed again if the caller turns out not to own the job).
    pub(super) async fn complete(
        &self,
        hash: &str,
        job_id: &JobId,
        json: Vec<u8>,
    ) -> StoreResult<()> {
        let encoded = codec::encode(json, hash)?;
        let now = self.clock.now();
        let expiry = self.finished_expiry(now);
        let mut set = vec![
            (STATUS, item::s(COMPLETED)),
            (FINISHED_AT, item::n(now.as_millis())),
            (TTL, item::n(expiry.as_secs_ceil())),
            (ENCODING, item::s(encoded.encoding.as_str())),
            (RAW_LEN, item::n(encoded.raw_len as u64)),
        ];
        let chunked = if encoded.is_inline() {
            set.push((VALUE, item::b(encoded.payload)));
            None
        } else {
            let chunk_ttl = expiry.saturating_add(CHUNK_TTL_MARGIN).as_secs_ceil();
            let count = self
                .chunks(hash)
                .write(job_id.as_str(), encoded.chunks(), chunk_ttl)
                .await?;
            set.push((CHUNK_COUNT, item::n(u64::from(count))));
            Some(count)
        };
        let result = self.update_owned(hash, job_id, set).await;
        if let (Err(StoreError::NotJobOwner { .. }), Some(count)) = (&result, chunked)
            && let Err(e) = self.chunks(hash).delete(job_id.as_str(), count).await
        {
            tracing::warn!(hash, error = %e, "could not remove the chunks of a refused result");
        }
        result
    }

    pub(super) async fn fail(&self, hash: &str, job_id: &JobId, error: &str) -> StoreResult<()> {
        let now = self.clock.now();
        let set = vec![
            (STATUS, item::s(FAILED)),
            (FINISHED_AT, item::n(now.as_millis())),
            (TTL, item::n(self.finished_expiry(now).as_secs_ceil())),
            (ERROR, item::s(error)),
        ];
        self.update_owned(hash, job_id, set).await
    }

    pub(super) async fn extend_lease(&self, hash: &str, job_id: &JobId) -> StoreResult<()> {
        let lease_until = self.clock.now().saturating_add(self.config.lease);
        let set = vec![
            (LEASE_UNTIL, item::n(lease_until.as_millis())),
            (TTL, item::n(self.pending_ttl(lease_until))),
        ];
        self.update_owned(hash, job_id, set).await
    }

    /// One UpdateItem setting `set` on the job if `job_id` owns it and it is pending;
    /// [`StoreError::NotJobOwner`] otherwise.
    pub(super) async fn update_owned(
        &self,
        hash: &str,
        job_id: &JobId,
        set: Vec<(&'static str, AttributeValue)>,
    ) -> StoreResult<()> {
        let (expression, names, values) = owned_update(job_id, &set);
        let update = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(item::key(keys::dedupe_job(hash))))
            .update_expression(expression)
            .condition_expression(OWNER_CONDITION)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        match update.send().await {
            Ok(out) => {
                self.gate
                    .metrics
                    .request(Access::Write, out.consumed_capacity());
                Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                self.gate.metrics.request(Access::Write, None);
                let held = match e.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(c)) => c.item(),
                    _ => None,
                };
                if landed(held, job_id, &set) {
                    return Ok(());
                }
                Err(StoreError::NotJobOwner {
                    hash: hash.to_owned(),
                    job_id: job_id.to_string(),
                })
            }
            Err(e) => Err(self.table.error("UpdateItem", e)),
        }
    }
}

/// The update expression, names and values that set `set` on a job (with the values of
/// [`OWNER_CONDITION`] for `job_id`).
pub(super) fn owned_update(
    job_id: &JobId,
    set: &[(&'static str, AttributeValue)],
) -> (
    String,
    HashMap<String, String>,
    HashMap<String, AttributeValue>,
) {
    let assignments = set
        .iter()
        .map(|(name, _)| format!("#{name} = :new{name}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut names = HashMap::from([
        ("#JID".to_owned(), JOB_ID.to_owned()),
        ("#ST".to_owned(), STATUS.to_owned()),
    ]);
    let mut values = HashMap::from([
        (":jid".to_owned(), item::s(job_id.as_str())),
        (":pending".to_owned(), item::s(PENDING)),
    ]);
    for (name, value) in set {
        names.insert(format!("#{name}"), (*name).to_owned());
        values.insert(format!(":new{name}"), value.clone());
    }
    (format!("SET {assignments}"), names, values)
}

/// Whether `held`, the job that refused an owner's update, holds exactly what the update
/// set: it landed, its answer was lost and the SDK retried it (a second, different update
/// stays refused).
pub(super) fn landed(
    held: Option<&Item>,
    job_id: &JobId,
    set: &[(&'static str, AttributeValue)],
) -> bool {
    held.is_some_and(|held| {
        held.get(JOB_ID) == Some(&item::s(job_id.as_str()))
            && set
                .iter()
                .all(|(name, value)| held.get(*name) == Some(value))
    })
}

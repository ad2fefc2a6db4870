//! `complete_and_cache` into the store's own cache: one TransactWriteItems that puts
//! the cache entry and completes the job.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use comic_vine_store::cache::writes_reach;
use comic_vine_store::cell::jobs::Expected;
use comic_vine_store::{CacheStore, JobId, StoreError, StoreResult, Timestamp};

use super::writes::{EXPECTED_CONDITION, landed, owned_update};
use super::{DynamoDbDedupeStore, Jobs};
use crate::attributes::job::{
    COMPLETED, CREATED_AT, FINISHED_AT, IN_CACHE, JOB_ID, LEASE_UNTIL, STATUS,
};
use crate::batch::{Backoff, unit_random};
use crate::item;
use crate::keys;
use crate::metrics::{self, Access};
use crate::table::TTL;

/// `complete_and_cache` leaves the result in the cache entry only when the entry
/// outlives the job's result grace by this much.
pub(super) const CACHED_RESULT_MARGIN: Duration = Duration::from_secs(60);
/// Attempts of a complete-and-cache transaction that conflicts with another write.
pub(super) const TRANSACTION_ATTEMPTS: u32 = 3;

impl<V> DynamoDbDedupeStore<V> {
    /// When the entry of a complete-and-cache transaction into `cache` expires, if
    /// `cache` is this store's own (the instance it was built with) and the entry
    /// outlives the job's result grace; `None` for `set` then `complete`.
    pub(super) fn transaction_expiry(
        &self,
        cache: &dyn CacheStore<V>,
        ttl: Option<Duration>,
    ) -> StoreResult<Option<Timestamp>> {
        let Some(own) = self
            .cache
            .as_ref()
            .filter(|own| writes_reach(cache, Arc::as_ptr(own).cast()))
        else {
            return Ok(None);
        };
        let ttl = own.effective_ttl(ttl)?;
        let grace = self.jobs.config.result_grace;
        Ok((ttl >= grace.saturating_add(CACHED_RESULT_MARGIN))
            .then(|| own.clock().now().saturating_add(ttl)))
    }
}

impl Jobs {
    /// Puts the cache entry of `hash` (value `json`, expiring at `expires`) and completes
    /// the caller's job in one transaction; the job's result is that entry.
    pub(super) async fn complete_in_cache(
        &self,
        hash: &str,
        job_id: &JobId,
        json: Vec<u8>,
        expires: Timestamp,
    ) -> StoreResult<()> {
        let entries = self.entries();
        let now = self.clock.now();
        let prepared = entries.prepare(hash, json, expires, now).await?;
        let set = vec![
            (STATUS, item::s(COMPLETED)),
            (FINISHED_AT, item::n(now.as_millis())),
            (TTL, item::n(self.finished_expiry(now).as_secs_ceil())),
            (IN_CACHE, AttributeValue::Bool(true)),
        ];
        let (expression, names, values) = owned_update(&Expected::owner(job_id), &set);
        let complete = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(item::key(keys::dedupe_job(hash))))
            .update_expression(expression)
            .condition_expression(EXPECTED_CONDITION)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::backend("building a job completion", e))?;
        // Billed per item: the entry, and the job at its size after the update.
        let job_key = item::key(keys::dedupe_job(hash));
        let at = item::n(now.as_millis());
        let held = [
            (JOB_ID, item::s(job_id.as_str())),
            (CREATED_AT, at.clone()),
            (LEASE_UNTIL, at),
        ];
        let sizes = [
            metrics::item_size(prepared.item.iter().map(|(k, v)| (k.as_str(), v))),
            metrics::item_size(job_key.iter().map(|(k, v)| (k.as_str(), v)))
                + metrics::item_size(set.iter().chain(&held).map(|(k, v)| (*k, v))),
        ];
        let put = Put::builder()
            .table_name(self.table.name())
            .set_item(Some(prepared.item))
            .build()
            .map_err(|e| StoreError::backend("building a cache entry write", e))?;
        // One token for every attempt: a retry of a transaction that landed is a no-op.
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mut attempt = 0;
        let refusal = loop {
            attempt += 1;
            let sent = self
                .table
                .client()
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(put.clone()).build())
                .transact_items(
                    TransactWriteItem::builder()
                        .update(complete.clone())
                        .build(),
                )
                .client_request_token(&token)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            let e = match sent {
                Ok(out) => {
                    self.gate
                        .metrics
                        .transaction(out.consumed_capacity(), &sizes);
                    return Ok(());
                }
                Err(e) => e,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) =
                e.as_service_error()
            else {
                // Perhaps landed (e.g. its answer was lost): the entry's chunks stay,
                // their TTL removes them if it did not.
                return Err(self.table.error("TransactWriteItems", e));
            };
            self.gate.metrics.request(Access::Write, None);
            let reasons = cancel.cancellation_reasons();
            let job = reasons.get(1);
            if job.and_then(|r| r.code()) == Some("ConditionalCheckFailed") {
                // The job holds exactly what we set: the transaction landed and its
                // answer was lost.
                if landed(job.and_then(|r| r.item()), job_id, &set) {
                    return Ok(());
                }
                break StoreError::NotJobOwner {
                    hash: hash.to_owned(),
                    job_id: job_id.to_string(),
                };
            }
            let conflict = reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"));
            if !conflict || attempt >= TRANSACTION_ATTEMPTS {
                break self.table.error("TransactWriteItems", e);
            }
            tokio::time::sleep(Backoff::DEFAULT.delay(attempt, unit_random())).await;
        };
        // Cancelled: nothing was written, so the chunks written for it go.
        if let Some(version) = &prepared.version {
            entries.discard(hash, version).await;
        }
        Err(refusal)
    }
}

//! The owner's writes: `complete`, `fail` and `extend_lease`, each one UpdateItem
//! conditional on the job being the one the core expects (a chunked result adds its
//! chunk writes first).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use comic_vine_store::cell::jobs::{Expected, JobChange, OwnerWrite};
use comic_vine_store::{JobId, StoreResult};

use super::job_item::state_str;
use super::{Jobs, TTL_MARGIN};
use crate::attributes::job::{
    CHUNK_COUNT, COMPLETED, ENCODING, ERROR, FAILED, FINISHED_AT, JOB_ID, LEASE_UNTIL, RAW_LEN,
    STATUS, VALUE,
};
use crate::codec;
use crate::item::{self, Item};
use crate::keys;
use crate::request::Condition;
use crate::table::TTL;

/// The stored job is the one expected (see [`owned_update`]).
pub(super) const EXPECTED_CONDITION: &str = "#JID = :jid AND #ST = :st";
/// Result chunks outlive their job item by this much, so a reader holding the item
/// finds them.
pub(super) const CHUNK_TTL_MARGIN: Duration = Duration::from_secs(3600);

impl Jobs {
    /// Applies an owner's `write` to the job of `hash` if it is the one expected;
    /// `false` if not. A result over one item is written as chunks first (removed again
    /// when the write is refused).
    pub(super) async fn write_expected(&self, hash: &str, write: &OwnerWrite) -> StoreResult<bool> {
        let (expected, expires_at) = (&write.expected, write.expires_at);
        let ttl = (TTL, item::n(self.ttl(expires_at)));
        let mut chunked = None;
        let set = match &write.change {
            JobChange::Lease { until } => vec![(LEASE_UNTIL, item::n(until.as_millis())), ttl],
            JobChange::Fail { at, error } => vec![
                (STATUS, item::s(FAILED)),
                (FINISHED_AT, item::n(at.as_millis())),
                ttl,
                (ERROR, item::s(error.as_str())),
            ],
            JobChange::Complete { at, result } => {
                let encoded = codec::encode(result.clone(), hash)?;
                let mut set = vec![
                    (STATUS, item::s(COMPLETED)),
                    (FINISHED_AT, item::n(at.as_millis())),
                    ttl,
                    (ENCODING, item::s(encoded.encoding.as_str())),
                    (RAW_LEN, item::n(encoded.raw_len as u64)),
                ];
                if encoded.is_inline() {
                    set.push((VALUE, item::b(encoded.payload)));
                } else {
                    let chunk_ttl = expires_at
                        .saturating_add(TTL_MARGIN)
                        .saturating_add(CHUNK_TTL_MARGIN)
                        .as_secs_ceil();
                    let id = expected.job_id.as_str();
                    let count = self
                        .chunks(hash)
                        .write(id, encoded.chunks(), chunk_ttl)
                        .await?;
                    set.push((CHUNK_COUNT, item::n(u64::from(count))));
                    chunked = Some(count);
                }
                set
            }
        };
        let result = self.update_expected(hash, expected, set).await;
        if let (Ok(false), Some(count)) = (&result, chunked)
            && let Err(e) = self
                .chunks(hash)
                .delete(expected.job_id.as_str(), count)
                .await
        {
            tracing::warn!(hash, error = %e, "could not remove the chunks of a refused result");
        }
        result
    }

    /// One UpdateItem setting `set` on the job if it is `expected`; `false` if not.
    pub(super) async fn update_expected(
        &self,
        hash: &str,
        expected: &Expected,
        set: Vec<(&'static str, AttributeValue)>,
    ) -> StoreResult<bool> {
        let (expression, names, values) = owned_update(expected, &set);
        let update = self
            .table
            .update_item(keys::dedupe_job(hash))
            .update_expression(expression)
            .condition_expression(EXPECTED_CONDITION)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        Ok(
            match self.table.send_if(&self.gate.metrics, update).await? {
                Condition::Met(_) => true,
                Condition::Failed(held) => landed(held.as_ref(), &expected.job_id, &set),
            },
        )
    }
}

/// The update expression, names and values that set `set` on a job (with the values of
/// [`EXPECTED_CONDITION`] for `expected`).
pub(super) fn owned_update(
    expected: &Expected,
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
        (":jid".to_owned(), item::s(expected.job_id.as_str())),
        (":st".to_owned(), item::s(state_str(expected.state))),
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

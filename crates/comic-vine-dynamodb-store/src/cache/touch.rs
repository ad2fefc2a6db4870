//! `touch`: one conditional UpdateItem of an entry item's times, never its value.
//!
//! The update sets `SAT`, `FRE`, `EXP` and `TTL` on the entry item only, on condition
//! that the entry is live and, for a chunked value, that its chunks (whose own `TTL` is
//! not changed) outlive the new horizon by [`CHUNK_TTL_MARGIN`]. DynamoDB bills an
//! update by the larger of the item's sizes before and after it, so touching an entry
//! whose (compressed) value is inline costs as many write units as the item's size, and
//! a chunked one about one unit (its manifest); values over the inline limit (8 KiB
//! compressed by default) are chunked for this reason: see docs/design.md.

use comic_vine_store::{EntryTimes, StoreResult};

use super::DynamoDbCacheStore;
use super::entry::{CHUNK_TTL_MARGIN, CHUNKS, CHUNKS_EXPIRE, EXP, FRESH_UNTIL, STORED_AT};
use crate::item;
use crate::keys;
use crate::request::Condition;
use crate::table::TTL;

impl<V> DynamoDbCacheStore<V> {
    /// Restamps the live entry of `hash` with `times`; `false` if there is none, or its
    /// chunks would expire first.
    pub(super) async fn touch_entry(&self, hash: &str, times: EntryTimes) -> StoreResult<bool> {
        let chunks_needed = times.stale_until.saturating_add(CHUNK_TTL_MARGIN);
        let update = self
            .table
            .update_item(keys::cache_entry(hash))
            .update_expression("SET #sat = :sat, #fre = :fre, #exp = :exp, #ttl = :ttl")
            .condition_expression(
                "#exp > :now AND (attribute_not_exists(#ch) OR #cexp >= :chunks_needed)",
            )
            .expression_attribute_names("#sat", STORED_AT)
            .expression_attribute_names("#fre", FRESH_UNTIL)
            .expression_attribute_names("#exp", EXP)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_names("#ch", CHUNKS)
            .expression_attribute_names("#cexp", CHUNKS_EXPIRE)
            .expression_attribute_values(":sat", item::n(times.stored_at.as_millis()))
            .expression_attribute_values(":fre", item::n(times.fresh_until.as_millis()))
            .expression_attribute_values(":exp", item::n(times.stale_until.as_millis()))
            .expression_attribute_values(":ttl", item::n(times.stale_until.as_secs_ceil()))
            .expression_attribute_values(":now", item::n(times.stored_at.as_millis()))
            .expression_attribute_values(":chunks_needed", item::n(chunks_needed.as_millis()));
        let sent = self
            .table
            .send_if(&self.gate.metrics, "UpdateItem", update.send())
            .await?;
        Ok(matches!(sent, Condition::Met(_)))
    }
}

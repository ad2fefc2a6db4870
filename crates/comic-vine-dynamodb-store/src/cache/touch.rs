//! `touch`: one conditional UpdateItem of an entry item's times, never its value.
//!
//! The update sets `SAT`, `FRE`, `EXP` and `TTL` (and `META` for `touch_with_meta`, at
//! most 16 KiB, so about as many more write units) on the entry item only, on condition
//! that the entry is live and, for a chunked value, that its chunks (whose own `TTL` is
//! not changed) outlive the new horizon by [`CHUNK_TTL_MARGIN`]. DynamoDB bills an
//! update by the larger of the item's sizes before and after it, so touching an entry
//! whose (compressed) value is inline costs as many write units as the item's size, and
//! a chunked one about one unit (its manifest); values over the inline limit (8 KiB
//! compressed by default) are chunked for this reason: see docs/design.md.

use comic_vine_store::cache::Restamp;
use comic_vine_store::{CacheStore, EntryTimes, StoreResult};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::DynamoDbCacheStore;
use super::entry::{CHUNK_TTL_MARGIN, CHUNKS, CHUNKS_EXPIRE, EXP, FRESH_UNTIL, META, STORED_AT};
use crate::item;
use crate::keys;
use crate::request::Condition;
use crate::table::TTL;

/// The update of the times.
const TIMES: &str = "SET #sat = :sat, #fre = :fre, #exp = :exp, #ttl = :ttl";

impl<V> DynamoDbCacheStore<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// `touch`, and replaces `META` with `meta` if given (checked first).
    pub(super) async fn restamp_entry(
        &self,
        hash: &str,
        restamp: Restamp<'_>,
    ) -> StoreResult<bool> {
        let now = self.clock.now();
        let (times, meta) = restamp.checked(hash, now, &self.config)?;
        let Some(times) = times else {
            self.delete(hash).await?;
            return Ok(false);
        };
        // serde_json writes UTF-8: the lossy conversion never replaces anything.
        let meta = meta.map(|m| String::from_utf8_lossy(&m).into_owned());
        self.gate
            .run("touch", self.touch_entry(hash, times, meta))
            .await
    }
}

impl<V> DynamoDbCacheStore<V> {
    /// Restamps the live entry of `hash` with `times` (and replaces its metadata with
    /// `meta`, JSON text, if given); `false` if there is none, or its chunks would
    /// expire first.
    async fn touch_entry(
        &self,
        hash: &str,
        times: EntryTimes,
        meta: Option<String>,
    ) -> StoreResult<bool> {
        let chunks_needed = times.stale_until.saturating_add(CHUNK_TTL_MARGIN);
        let mut update = self.table.update_item(keys::cache_entry(hash));
        update = match meta {
            None => update.update_expression(TIMES),
            Some(meta) => update
                .update_expression(format!("{TIMES}, #meta = :meta"))
                .expression_attribute_names("#meta", META)
                .expression_attribute_values(":meta", item::s(meta)),
        };
        let update = update
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
        let sent = self.table.send_if(&self.gate.metrics, update).await?;
        Ok(matches!(sent, Condition::Met(_)))
    }
}

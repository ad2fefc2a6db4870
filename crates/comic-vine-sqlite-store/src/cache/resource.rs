//! A resource's entries: keys `<resource>/…` sort together, so a purge or a listing is
//! one range over the primary key's index (no other entry is read).

use comic_vine_store::cache::{
    EntrySummary, RESOURCE_SEPARATOR, ResourceEntries, encode_resource, resource_names,
};
use comic_vine_store::{EntryTimes, StoreResult, validate};
use rusqlite::params;

use super::{SqliteCacheStore, timestamp};

/// The bounds of `resource`'s keys: from `<resource>/` to `<resource>0` (`0` follows
/// `/`), so every key of the resource and no other is between them.
fn bounds(resource: &str) -> StoreResult<(String, String)> {
    validate::resource(resource)?;
    let part = encode_resource(resource);
    Ok((format!("{part}{RESOURCE_SEPARATOR}"), format!("{part}0")))
}

impl<V> SqliteCacheStore<V> {
    /// Deletes the entries of `resource`; how many.
    pub(super) async fn purge(&self, resource: &str) -> StoreResult<u64> {
        let (from, to) = bounds(resource)?;
        self.db
            .call("cache.purge_resource", move |c| {
                Ok(
                    c.prepare_cached("DELETE FROM cache_entries WHERE key >= ?1 AND key < ?2")?
                        .execute(params![from, to])? as u64,
                )
            })
            .await
    }

    /// The resources of the stored entries, decoded and sorted.
    pub(super) async fn resources(&self) -> StoreResult<Vec<String>> {
        let parts: Vec<String> = self
            .db
            .call("cache.cached_resources", |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT DISTINCT substr(key, 1, instr(key, '/') - 1) FROM cache_entries
                     WHERE instr(key, '/') > 1",
                )?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await?;
        Ok(resource_names(parts.iter().map(String::as_str)))
    }

    /// The entries of `resource`, the first `limit` listed.
    pub(super) async fn entries_of(
        &self,
        resource: &str,
        limit: usize,
    ) -> StoreResult<ResourceEntries> {
        let (from, to) = bounds(resource)?;
        let rows: Vec<(String, i64, i64, i64, i64)> = self
            .db
            .call("cache.resource_entries", move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT key, length(value), stored_at, fresh_until, expires_at
                     FROM cache_entries WHERE key >= ?1 AND key < ?2 ORDER BY key",
                )?;
                let rows = stmt.query_map(params![from, to], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await?;
        let mut listing = ResourceEntries::new(resource);
        for (key, bytes, stored_at, fresh_until, expires_at) in rows {
            let times = EntryTimes::ordered(
                timestamp(stored_at),
                timestamp(fresh_until),
                timestamp(expires_at),
            );
            let bytes = u64::try_from(bytes).unwrap_or(0);
            listing.push(EntrySummary { key, bytes, times }, limit);
        }
        Ok(listing)
    }
}

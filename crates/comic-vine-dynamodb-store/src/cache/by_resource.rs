//! A resource's entries: `purge_resource` and the listings Query the resource's 16
//! partitions only (see [`crate::keys`]), whatever else the table holds.

use comic_vine_store::cache::{EntrySummary, ResourceEntries, encode_resource, resource_names};
use comic_vine_store::{EntryTimes, StoreResult, Timestamp, validate};

use super::DynamoDbCacheStore;
use super::entry::{EXP, FRESH_UNTIL, STORED_AT, SZ};
use super::maintenance::{Removed, entry_hash};
use super::registry::resource_partitions;
use crate::item::{Fields, Item};

impl<V> DynamoDbCacheStore<V> {
    /// Removes every entry of `resource` with its chunks: 16 Queries, then the deletes.
    pub(super) async fn purge(&self, resource: &str) -> StoreResult<u64> {
        validate::resource(resource)?;
        let part = encode_resource(resource);
        let removed: Removed = self
            .gate
            .run(
                "purge_resource",
                self.per_partition(resource_partitions(&part), |pk| self.clear_shard(pk)),
            )
            .await?;
        self.report("purge_resource", removed, 0);
        tracing::info!(
            table = self.table_name(),
            resource,
            entries = removed.entries,
            "purged a cache resource"
        );
        Ok(removed.entries)
    }

    /// The registered resources, decoded and sorted.
    pub(super) async fn resources(&self) -> StoreResult<Vec<String>> {
        let parts = self
            .gate
            .run("cached_resources", self.entries().registered())
            .await?;
        Ok(resource_names(parts.iter().map(String::as_str)))
    }

    /// The entries of `resource` (16 Queries), the first `limit` by key listed.
    pub(super) async fn entries_of(
        &self,
        resource: &str,
        limit: usize,
    ) -> StoreResult<ResourceEntries> {
        validate::resource(resource)?;
        let part = encode_resource(resource);
        let mut summaries = Vec::new();
        self.gate
            .run("resource_entries", async {
                for pk in resource_partitions(&part) {
                    for entry in self.shard(&pk).await?.entries {
                        summaries.push(summary(&entry)?);
                    }
                }
                Ok(())
            })
            .await?;
        summaries.sort_by(|a, b| a.key.cmp(&b.key));
        let mut listing = ResourceEntries::new(resource);
        for s in summaries {
            listing.push(s, limit);
        }
        Ok(listing)
    }
}

/// An entry item as a listing shows it (one written before times were stored shows
/// its expiry for all three).
fn summary(entry: &Item) -> StoreResult<EntrySummary> {
    let fields = Fields::new(entry, "cache entry");
    let expires = Timestamp::from_millis(fields.n(EXP)?);
    let at = |name| -> StoreResult<Timestamp> {
        Ok(fields.opt_n(name)?.map_or(expires, Timestamp::from_millis))
    };
    Ok(EntrySummary {
        key: entry_hash(entry)?.to_owned(),
        bytes: fields.opt_n(SZ)?.unwrap_or(0),
        times: EntryTimes::ordered(at(STORED_AT)?, at(FRESH_UNTIL)?, expires),
    })
}

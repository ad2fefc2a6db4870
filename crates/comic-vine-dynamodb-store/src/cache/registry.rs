//! The table's registry of cache resources (one item, see [`crate::keys`]): a store
//! adds a resource before its first write of that resource's entries, so that
//! `clear`, `cleanup` and `stats` find every partition without a Scan.

use aws_sdk_dynamodb::types::AttributeValue;
use comic_vine_store::StoreResult;
use comic_vine_store::cache::key_resource;

use super::entry::Entries;
use crate::keys;
use crate::metrics::Access;

/// The registry item's string set of resources (as keys carry them).
const RESOURCES: &str = "R";

impl Entries<'_> {
    /// Adds the resource of `key` (if it has one) to the registry, unless this table
    /// handle already did: one idempotent UpdateItem (`ADD` to a string set) per
    /// resource per handle, before the entry is written.
    pub(crate) async fn register(&self, key: &str) -> StoreResult<()> {
        let Some(part) = key_resource(key) else {
            return Ok(());
        };
        if self.table.is_registered(part) {
            return Ok(());
        }
        let update = self
            .table
            .update_item(keys::cache_resources())
            .update_expression("ADD #r :r")
            .expression_attribute_names("#r", RESOURCES)
            .expression_attribute_values(":r", AttributeValue::Ss(vec![part.to_owned()]));
        self.table.send(self.metrics, Access::Write, update).await?;
        self.table.mark_registered(part);
        tracing::debug!(
            table = self.table.name(),
            resource = part,
            "cache resource registered"
        );
        Ok(())
    }

    /// Every resource in the registry (as keys carry them), sorted; one strongly
    /// consistent GetItem.
    pub(crate) async fn registered(&self) -> StoreResult<Vec<String>> {
        let get = self
            .table
            .get_item(keys::cache_resources())
            .consistent_read(true);
        let out = self.table.send(self.metrics, Access::Read, get).await?;
        // A string set holds no repeats.
        let mut parts = match out.item.as_ref().and_then(|i| i.get(RESOURCES)) {
            Some(AttributeValue::Ss(set)) => set.clone(),
            _ => Vec::new(),
        };
        parts.sort();
        Ok(parts)
    }

    /// Every cache partition: the 16 of entries without a resource, then the 16 of
    /// each registered resource.
    pub(crate) async fn partitions(&self) -> StoreResult<Vec<String>> {
        let mut pks: Vec<String> = (0..keys::CACHE_SHARDS).map(keys::cache_shard_pk).collect();
        for part in self.registered().await? {
            pks.extend(resource_partitions(&part));
        }
        Ok(pks)
    }
}

/// The 16 partitions of the resource keys carry as `part`.
pub(crate) fn resource_partitions(part: &str) -> impl Iterator<Item = String> + '_ {
    (0..keys::CACHE_SHARDS).map(move |shard| keys::resource_shard_pk(part, shard))
}

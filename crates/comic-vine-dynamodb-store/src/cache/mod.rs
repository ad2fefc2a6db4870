//! [`DynamoDbCacheStore`]: the response cache on DynamoDB.
//!
//! Layout (see [`crate::keys`]): one item per entry in one of 16 cache partitions,
//! holding the expiry (`EXP`, ms; `TTL`, s), the encoding and the payload, or, for a
//! payload over the inline limit ([`DynamoDbCacheStoreBuilder::inline_limit`], 8 KiB by
//! default), a manifest naming the chunks' version and count. Requests:
//! `get`/`get_entry` is one strongly consistent GetItem (eventually consistent with
//! [`DynamoDbCacheStoreBuilder::eventually_consistent_reads`]; plus one Query for a chunked
//! value), `set`/`set_entry` one PutItem (a chunked value adds a PutItem of its chunk-set item and BatchWriteItems
//! for its chunks), `touch` one conditional UpdateItem of the entry item's times (see
//! [`touch`]), `delete` one DeleteItem; the first write of a resource's entry through a
//! table handle adds one UpdateItem of the resource registry (see [`registry`]);
//! `clear`/`cleanup`/`stats` read the registry and Query the 16 partitions of each
//! resource and the 16 of entries without one, `purge_resource` Queries its resource's
//! 16 only (see [`maintenance`], [`by_resource`]).

use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use comic_vine_store::cache::{CleanupTask, ResourceEntries, Restamp, serialize_value};
use comic_vine_store::clock::SharedClock;
use comic_vine_store::{
    CacheConfig, CacheEntry, CacheStats, CacheStore, EntryTimes, Freshness, HealthStatus,
    StoreResult, validate,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::handle::Table;
use crate::keys;
use crate::metrics::Access;
use crate::resilience::{Gate, Gated, StoreControls};

mod builder;
mod by_resource;
mod chunk_set;
mod entry;
mod maintenance;
#[cfg(test)]
mod orphan_tests;
mod registry;
mod touch;

pub use builder::DynamoDbCacheStoreBuilder;
pub(crate) use entry::Entries;
use maintenance::{Removed, Stats};

/// A [`CacheStore`] on a DynamoDB table.
pub struct DynamoDbCacheStore<V = serde_json::Value> {
    table: Table,
    gate: Arc<Gate>,
    config: CacheConfig,
    clock: SharedClock,
    /// The periodic cleanup, if one was asked for (shared by every clone).
    periodic: Option<Arc<CleanupTask>>,
    /// Whether `get` reads the entry strongly consistently (the default).
    consistent_reads: bool,
    /// Encoded values longer than this are stored in chunks.
    inline_limit: usize,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for DynamoDbCacheStore<V> {
    fn clone(&self) -> Self {
        Self {
            table: self.table.clone(),
            gate: Arc::clone(&self.gate),
            config: self.config.clone(),
            clock: Arc::clone(&self.clock),
            periodic: self.periodic.clone(),
            consistent_reads: self.consistent_reads,
            inline_limit: self.inline_limit,
            _value: PhantomData,
        }
    }
}

/// Encoded (compressed) values up to this many bytes are stored inside their entry item,
/// longer ones in chunks: see [`DynamoDbCacheStoreBuilder::inline_limit`].
pub const DEFAULT_INLINE_LIMIT: usize = 8 * 1024;

impl<V> DynamoDbCacheStore<V> {
    /// A cache on `table` with the default settings and the table handle's clock.
    pub fn new(table: &Table) -> Self {
        let config = table.config();
        Self {
            gate: Arc::new(Gate::new("cache", table)),
            config: CacheConfig::default(),
            clock: Arc::clone(config.clock()),
            table: table.clone(),
            periodic: None,
            consistent_reads: true,
            inline_limit: DEFAULT_INLINE_LIMIT,
            _value: PhantomData,
        }
    }

    /// The same store with other cache settings (validated).
    pub fn with_config(mut self, config: CacheConfig) -> StoreResult<Self> {
        config.validate()?;
        self.config = config;
        Ok(self)
    }

    /// The same store reading time from `clock`.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    pub(crate) fn entries(&self) -> Entries<'_> {
        Entries {
            table: &self.table,
            metrics: &self.gate.metrics,
        }
    }

    /// The table the store is on.
    pub(crate) fn table_name(&self) -> &str {
        self.table.name()
    }

    /// Encoded values longer than this are stored in chunks.
    pub(crate) fn inline_limit(&self) -> usize {
        self.inline_limit
    }

    /// The times a `set_entry` with `freshness` would give an entry now (`None`: it
    /// would store nothing).
    pub(crate) fn times_now(&self, freshness: Freshness) -> StoreResult<Option<EntryTimes>> {
        freshness.times_at(self.clock.now(), &self.config)
    }

    /// Logs and counts what `clear` or `cleanup` removed.
    fn report(&self, op: &'static str, removed: Removed, expired: u64) {
        self.gate.metrics.removed(expired, removed.orphan_chunks);
        if removed.orphan_chunks > 0 {
            tracing::info!(
                table = self.table.name(),
                op,
                orphan_chunks = removed.orphan_chunks,
                "removed cache chunks no entry referenced"
            );
        }
    }
}

#[async_trait]
impl<V> CacheStore<V> for DynamoDbCacheStore<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    async fn get_entry(&self, hash: &str) -> StoreResult<Option<CacheEntry<V>>> {
        validate::key("hash", hash)?;
        self.gate
            .run("get", async {
                let Some(read) = self
                    .entries()
                    .read_entry(hash, self.clock.as_ref(), self.consistent_reads)
                    .await?
                else {
                    return Ok(None);
                };
                // An entry written before the times were stored: fresh until it expires,
                // stored as if with the default TTL.
                let fresh_until = read.fresh_until.unwrap_or(read.expires);
                let stored_at = read.stored_at.unwrap_or_else(|| {
                    fresh_until
                        .saturating_sub(self.config.default_ttl)
                        .min(self.clock.now())
                });
                let times = EntryTimes::ordered(stored_at, fresh_until, read.expires);
                let meta = read.meta.map(|m| serde_json::from_str(&m)).transpose()?;
                Ok(Some(
                    CacheEntry::from_json(&read.json, times)?.with_meta(meta),
                ))
            })
            .await
    }

    async fn set_entry(&self, hash: &str, value: &V, freshness: Freshness) -> StoreResult<()> {
        validate::key("hash", hash)?;
        let Some(times) = freshness.times_at(self.clock.now(), &self.config)? else {
            return self.delete(hash).await;
        };
        let json = serialize_value(hash, value)?;
        self.gate
            .run("set", async {
                let prepared = self
                    .entries()
                    .prepare_entry(hash, json, times, self.inline_limit)
                    .await?;
                self.entries().store(hash, prepared, None).await?;
                Ok(())
            })
            .await
    }

    async fn restamp(&self, hash: &str, restamp: Restamp<'_>) -> StoreResult<bool> {
        self.restamp_entry(hash, restamp).await
    }

    async fn delete(&self, hash: &str) -> StoreResult<()> {
        validate::key("hash", hash)?;
        self.gate
            .run("delete", async {
                let delete = self
                    .table
                    .delete_item(keys::cache_entry(hash))
                    .return_values(ReturnValue::AllOld);
                let out = self
                    .table
                    .send(&self.gate.metrics, Access::Write, delete)
                    .await?;
                if let Some(old) = out.attributes {
                    self.entries().delete_chunks_of(hash, &old).await?;
                }
                Ok(())
            })
            .await
    }

    async fn clear(&self) -> StoreResult<u64> {
        let removed = self
            .every_partition("clear", |pk| self.clear_shard(pk))
            .await?;
        self.report("clear", removed, 0);
        Ok(removed.entries)
    }

    async fn cleanup(&self) -> StoreResult<u64> {
        let now = self.clock.now();
        let removed = self
            .every_partition("cleanup", |pk| self.cleanup_shard(pk, now))
            .await?;
        self.report("cleanup", removed, removed.entries);
        Ok(removed.entries)
    }

    async fn stats(&self) -> StoreResult<CacheStats> {
        let now = self.clock.now();
        let stats: Stats = self
            .every_partition("stats", |pk| self.stats_shard(pk, now))
            .await?;
        Ok(stats.0)
    }

    async fn purge_resource(&self, resource: &str) -> StoreResult<u64> {
        self.purge(resource).await
    }

    async fn cached_resources(&self) -> StoreResult<Option<Vec<String>>> {
        self.resources().await.map(Some)
    }

    async fn resource_entries(
        &self,
        resource: &str,
        limit: usize,
    ) -> StoreResult<Option<ResourceEntries>> {
        self.entries_of(resource, limit).await.map(Some)
    }

    async fn health_check(&self) -> StoreResult<HealthStatus> {
        StoreControls::health_check(self).await
    }
}

impl<V> Gated for DynamoDbCacheStore<V> {
    fn gate(&self) -> &Gate {
        &self.gate
    }
}

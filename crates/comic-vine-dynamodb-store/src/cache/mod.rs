//! [`DynamoDbCacheStore`]: the response cache on DynamoDB.
//!
//! Layout (see [`crate::keys`]): one item per entry in one of 16 cache partitions,
//! holding the expiry (`EXP`, ms; `TTL`, s), the encoding and the payload, or, for a
//! payload over one item, a manifest naming the chunks' version and count. Requests:
//! `get` is one strongly consistent GetItem (plus one Query for a chunked value), `set`
//! one PutItem (plus BatchWriteItems for chunks), `delete` one DeleteItem;
//! `clear`/`cleanup`/`stats` Query the 16 cache partitions only.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, ReturnConsumedCapacity, ReturnValue, WriteRequest,
};
use comic_vine_store::clock::SharedClock;
use comic_vine_store::{
    CacheConfig, CacheStats, CacheStore, HealthStatus, StoreError, StoreResult, Timestamp, validate,
};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::chunks::batch_write;
use crate::handle::Table;
use crate::item::{self, Fields, Item};
use crate::keys;
use crate::metrics::Access;
use crate::resilience::Gate;
use crate::table::{PK, SK};

/// Cache partitions worked on at once by `clear`, `cleanup` and `stats`.
const SHARD_CONCURRENCY: usize = 4;
/// Conditional deletes in flight at once during `cleanup`.
const DELETE_CONCURRENCY: usize = 8;
mod entry;

pub(crate) use entry::Entries;
use entry::{CHUNKS, EXP, Prepared, SZ, VERSION};

/// A [`CacheStore`] on a DynamoDB table.
pub struct DynamoDbCacheStore<V = serde_json::Value> {
    table: Table,
    gate: Arc<Gate>,
    config: CacheConfig,
    clock: SharedClock,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for DynamoDbCacheStore<V> {
    fn clone(&self) -> Self {
        Self {
            table: self.table.clone(),
            gate: Arc::clone(&self.gate),
            config: self.config.clone(),
            clock: Arc::clone(&self.clock),
            _value: PhantomData,
        }
    }
}

impl<V> DynamoDbCacheStore<V> {
    /// A cache on `table`, with the table configuration's cache settings and clock.
    pub fn new(table: &Table) -> Self {
        let config = table.config();
        Self {
            gate: Arc::new(Gate::new("cache", table)),
            config: config.cache().clone(),
            clock: Arc::clone(config.clock()),
            table: table.clone(),
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

    crate::resilience::gate_controls!(gate, table);

    fn entries(&self) -> Entries<'_> {
        Entries {
            table: &self.table,
            metrics: &self.gate.metrics,
        }
    }

    /// The table the store is on.
    pub(crate) fn table_name(&self) -> &str {
        self.table.name()
    }

    /// The TTL a `set` with `ttl` would give an entry.
    pub(crate) fn effective_ttl(&self, ttl: Option<Duration>) -> StoreResult<Duration> {
        self.config.effective_ttl(ttl)
    }

    /// The clock entries expire by.
    pub(crate) fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The entry items of one cache partition, with only the attributes named (the
    /// sort key always), and only the expired ones when `expired_at` is given.
    async fn shard_items(
        &self,
        shard: u8,
        attributes: &[&str],
        expired_at: Option<Timestamp>,
    ) -> StoreResult<Vec<Item>> {
        let mut names: Vec<&str> = vec![SK];
        names.extend(attributes);
        if expired_at.is_some() && !names.contains(&EXP) {
            names.push(EXP);
        }
        let projection = (0..names.len())
            .map(|i| format!("#a{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .table
                .client()
                .query()
                .table_name(self.table.name())
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", item::s(keys::cache_shard_pk(shard)))
                .projection_expression(&projection)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total);
            for (i, name) in names.iter().enumerate() {
                query = query.expression_attribute_names(format!("#a{i}"), *name);
            }
            if let Some(now) = expired_at {
                let exp = names.iter().position(|n| *n == EXP).unwrap_or_default();
                query = query
                    .filter_expression(format!("#a{exp} <= :now"))
                    .expression_attribute_values(":now", item::n(now.as_millis()));
            }
            let out = query
                .send()
                .await
                .map_err(|e| self.table.error("Query", e))?;
            self.gate
                .metrics
                .request(Access::Read, out.consumed_capacity());
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Runs `f` on every cache partition, a few at a time, summing the results.
    async fn per_shard<F, Fut>(&self, f: F) -> StoreResult<u64>
    where
        F: Fn(u8) -> Fut,
        Fut: Future<Output = StoreResult<u64>>,
    {
        stream::iter(0..keys::CACHE_SHARDS)
            .map(f)
            .buffer_unordered(SHARD_CONCURRENCY)
            .try_fold(0, |acc, n| async move { Ok(acc + n) })
            .await
    }

    async fn clear_shard(&self, shard: u8) -> StoreResult<u64> {
        let entries = self.shard_items(shard, &[VERSION, CHUNKS], None).await?;
        let mut deletes = Vec::with_capacity(entries.len());
        for entry in &entries {
            let hash = entry_hash(entry)?;
            self.entries().delete_chunks_of(hash, entry).await?;
            let delete = DeleteRequest::builder()
                .set_key(Some(item::key(keys::cache_entry(hash))))
                .build()
                .map_err(|e| StoreError::backend("building a cache delete", e))?;
            deletes.push(WriteRequest::builder().delete_request(delete).build());
        }
        batch_write(&self.table, &self.gate.metrics, deletes).await?;
        Ok(entries.len() as u64)
    }

    async fn cleanup_shard(&self, shard: u8, now: Timestamp) -> StoreResult<u64> {
        let expired = self
            .shard_items(shard, &[VERSION, CHUNKS], Some(now))
            .await?;
        stream::iter(expired)
            .map(|entry| async move {
                let hash = entry_hash(&entry)?;
                // Conditional: an entry refreshed since the query stays.
                let out = self
                    .table
                    .client()
                    .delete_item()
                    .table_name(self.table.name())
                    .set_key(Some(item::key(keys::cache_entry(hash))))
                    .condition_expression("#exp <= :now")
                    .expression_attribute_names("#exp", EXP)
                    .expression_attribute_values(":now", item::n(now.as_millis()))
                    .return_values(ReturnValue::AllOld)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await;
                match out {
                    Ok(out) => {
                        self.gate
                            .metrics
                            .request(Access::Write, out.consumed_capacity());
                        if let Some(old) = out.attributes {
                            self.entries().delete_chunks_of(hash, &old).await?;
                        }
                        Ok(1)
                    }
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                    {
                        self.gate.metrics.request(Access::Write, None);
                        Ok(0)
                    }
                    Err(e) => Err(self.table.error("DeleteItem", e)),
                }
            })
            .buffer_unordered(DELETE_CONCURRENCY)
            .try_fold(0, |acc, n| async move { Ok(acc + n) })
            .await
    }
}

fn entry_hash(entry: &Item) -> StoreResult<&str> {
    match entry.get(SK) {
        Some(AttributeValue::S(hash)) => Ok(hash),
        _ => Err(StoreError::Corrupt {
            key: "cache entry".to_owned(),
            reason: "sort key is not a string".to_owned(),
        }),
    }
}

#[async_trait]
impl<V> CacheStore<V> for DynamoDbCacheStore<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    async fn get(&self, hash: &str) -> StoreResult<Option<V>> {
        validate::key("hash", hash)?;
        self.gate
            .run("get", async {
                match self.entries().read(hash, self.clock.as_ref()).await? {
                    Some(json) => Ok(Some(serde_json::from_slice(&json)?)),
                    None => Ok(None),
                }
            })
            .await
    }

    async fn set(&self, hash: &str, value: &V, ttl: Option<Duration>) -> StoreResult<()> {
        validate::key("hash", hash)?;
        let ttl = self.config.effective_ttl(ttl)?;
        if ttl.is_zero() {
            return self.delete(hash).await;
        }
        let json = serde_json::to_vec(value)?;
        self.gate
            .run("set", async {
                let expires = self.clock.now().saturating_add(ttl);
                let Prepared {
                    item: entry,
                    version,
                } = self.entries().prepare(hash, json, expires).await?;
                let out = self
                    .table
                    .client()
                    .put_item()
                    .table_name(self.table.name())
                    .set_item(Some(entry))
                    .return_values(ReturnValue::AllOld)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(|e| self.table.error("PutItem", e))?;
                self.gate
                    .metrics
                    .request(Access::Write, out.consumed_capacity());
                if let Some(old) = out.attributes {
                    let old_version = old.get(VERSION).and_then(|v| v.as_s().ok());
                    if old_version.is_some() && old_version != version.as_ref() {
                        self.entries().delete_chunks_of(hash, &old).await?;
                    }
                }
                Ok(())
            })
            .await
    }

    async fn delete(&self, hash: &str) -> StoreResult<()> {
        validate::key("hash", hash)?;
        self.gate
            .run("delete", async {
                let out = self
                    .table
                    .client()
                    .delete_item()
                    .table_name(self.table.name())
                    .set_key(Some(item::key(keys::cache_entry(hash))))
                    .return_values(ReturnValue::AllOld)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(|e| self.table.error("DeleteItem", e))?;
                self.gate
                    .metrics
                    .request(Access::Write, out.consumed_capacity());
                if let Some(old) = out.attributes {
                    self.entries().delete_chunks_of(hash, &old).await?;
                }
                Ok(())
            })
            .await
    }

    async fn clear(&self) -> StoreResult<u64> {
        self.gate
            .run("clear", self.per_shard(|shard| self.clear_shard(shard)))
            .await
    }

    async fn cleanup(&self) -> StoreResult<u64> {
        let now = self.clock.now();
        self.gate
            .run(
                "cleanup",
                self.per_shard(|shard| self.cleanup_shard(shard, now)),
            )
            .await
    }

    async fn stats(&self) -> StoreResult<CacheStats> {
        let now = self.clock.now();
        self.gate
            .run("stats", async {
                let mut stats = CacheStats::default();
                let per_shard: Vec<Vec<Item>> = stream::iter(0..keys::CACHE_SHARDS)
                    .map(|shard| self.shard_items(shard, &[EXP, SZ], None))
                    .buffer_unordered(SHARD_CONCURRENCY)
                    .try_collect()
                    .await?;
                for entry in per_shard.iter().flatten() {
                    let fields = Fields::new(entry, "cache entry");
                    stats.entries += 1;
                    if Timestamp::from_millis(fields.n(EXP)?) <= now {
                        stats.expired_entries += 1;
                    }
                    stats.approximate_bytes += fields.opt_n(SZ)?.unwrap_or(0);
                }
                Ok(stats)
            })
            .await
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    async fn health_check(&self) -> StoreResult<HealthStatus> {
        DynamoDbCacheStore::health_check(self).await
    }
}

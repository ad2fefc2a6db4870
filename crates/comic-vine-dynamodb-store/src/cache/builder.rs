//! [`DynamoDbCacheStoreBuilder`]: a cache store with its own settings, clock or periodic
//! cleanup.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_store::cache::spawn_periodic_cleanup;
use comic_vine_store::clock::SharedClock;
use comic_vine_store::{CacheConfig, CacheStore, StoreResult};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::DynamoDbCacheStore;
use crate::handle::Table;

/// Builds a [`DynamoDbCacheStore`]:
/// `DynamoDbCacheStore::builder(&table).cleanup_interval(d).build()?`.
pub struct DynamoDbCacheStoreBuilder<V = serde_json::Value> {
    store: DynamoDbCacheStore<V>,
    cleanup_interval: Option<Duration>,
}

impl<V> DynamoDbCacheStore<V> {
    /// A builder on `table` with the defaults of [`new`](Self::new).
    pub fn builder(table: &Table) -> DynamoDbCacheStoreBuilder<V> {
        DynamoDbCacheStoreBuilder {
            store: Self::new(table),
            cleanup_interval: None,
        }
    }
}

impl<V> DynamoDbCacheStoreBuilder<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// The cache settings (default [`CacheConfig::default`]; validated by `build`).
    pub fn config(mut self, config: CacheConfig) -> Self {
        self.store.config = config;
        self
    }

    /// The clock entries expire by (default: the table handle's clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.store.clock = clock;
        self
    }

    /// Reads entries with eventually consistent GetItems: half the read units (0.5 RCU
    /// per 4 KB instead of 1), at the price of a read shortly after a write (about a
    /// second on AWS) possibly missing that write: a miss then costs a dedupe join or one
    /// extra API call, never a wrong value (see docs/design.md). Off by default; dedupe
    /// joiners and rate-limit state always read strongly consistently.
    pub fn eventually_consistent_reads(mut self, on: bool) -> Self {
        self.store.consistent_reads = !on;
        self
    }

    /// Encoded (zstd-compressed) values up to `bytes` are stored inside their entry item,
    /// longer ones in chunks beside it (default [`DEFAULT_INLINE_LIMIT`](crate::DEFAULT_INLINE_LIMIT), 8 KiB; at most
    /// 350 KiB, what fits in one item). The trade-off: a `get` of a chunked value is two
    /// requests (the entry, then a Query of its chunks) instead of one, at about the
    /// same read units; a `touch` (an HTTP 304's restamp) of it rewrites only the small
    /// entry item, about 1 WCU, where DynamoDB bills an update of an inline entry at its
    /// whole size. So the limit bounds what a revalidation costs.
    pub fn inline_limit(mut self, bytes: usize) -> Self {
        self.store.inline_limit = bytes;
        self
    }

    /// Runs `cleanup` (expired entries, orphaned chunks; Queries of the 16 cache
    /// partitions, never a Scan) in the background every `interval`, like the seed's
    /// `cleanupIntervalMs` (default there 5 minutes), until the last clone of the store
    /// is dropped. Stores on one table in one process never run it at once. Off unless
    /// set.
    pub fn cleanup_interval(mut self, interval: Duration) -> Self {
        self.cleanup_interval = Some(interval);
        self
    }

    /// The store; periodic cleanup needs a running Tokio runtime.
    pub fn build(self) -> StoreResult<DynamoDbCacheStore<V>> {
        let mut store = self.store;
        store.config.validate()?;
        if store.inline_limit > crate::codec::INLINE_MAX {
            return Err(comic_vine_store::StoreError::invalid_input(
                "inline_limit",
                format!(
                    "is {} bytes; at most {} fit in one item",
                    store.inline_limit,
                    crate::codec::INLINE_MAX
                ),
            ));
        }
        if let Some(interval) = self.cleanup_interval {
            let scope = format!("dynamodb cache {}", store.table.name());
            let task = spawn_periodic_cleanup(store.clone(), scope, interval, |s| async move {
                CacheStore::<V>::cleanup(s.as_ref()).await
            })?;
            store.periodic = Some(Arc::new(task));
        }
        Ok(store)
    }
}

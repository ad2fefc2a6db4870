//! An optional in-process cache in front of a shared [`CacheStore`]: [`NearCache`].

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use super::{
    CacheEntry, CacheStats, CacheStore, Freshness, HealthStatus, ResourceEntries, Restamp,
    encode_resource, key_resource,
};
use crate::clock::{SharedClock, SystemClock, Timestamp};
use crate::error::StoreResult;

mod builder;

pub use builder::NearCacheBuilder;

/// Counter of reads answered by a near cache without a request.
pub const NEAR_HITS_COUNTER: &str = "comic_vine_near_cache_hits_total";
/// Counter of reads a near cache passed on to its shared store.
pub const NEAR_MISSES_COUNTER: &str = "comic_vine_near_cache_misses_total";

/// Stripes of write epochs: a read that raced a write to a key of its stripe drops
/// what it read instead of keeping it.
const STRIPES: usize = 64;

/// A local copy of a shared entry.
struct Local<V> {
    entry: CacheEntry<V>,
    /// The end of its local life: the earlier of the read's start plus the maximum
    /// local age and the entry's own freshness.
    valid_until: Timestamp,
    /// Its weight in the local byte budget.
    weight: u32,
}

/// An in-process cache in front of a shared [`CacheStore`] (DynamoDB, SQLite, memory),
/// bounded by entries, by bytes and by a maximum local age; itself a [`CacheStore`].
///
/// Guarantees, on top of the shared store's:
/// - a read answered locally (a *near hit*) sends no request;
/// - a local copy lives at most the maximum local age (default 5 s) from the start of
///   the read that fetched it, and never past the entry's own freshness: a stale or
///   expired entry is always read from the shared store;
/// - a write, delete, touch or clear through this cache reaches the shared store and
///   drops the local copy; a write, delete or purge by another process (or directly
///   on the shared store) is seen here within the maximum local age.
///
/// The limit: within that age this process may serve a value that another process has
/// already replaced or deleted. Clones share one local cache.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use comic_vine_store::cache::NearCache;
/// use comic_vine_store::{CacheStore, memory::MemoryCacheStore};
///
/// let shared: MemoryCacheStore = MemoryCacheStore::new();
/// let near = NearCache::builder(shared)
///     .max_entries(10_000)
///     .max_bytes(64 << 20)
///     .max_local_age(Duration::from_secs(5))
///     .build()?;
/// near.set("k", &serde_json::json!({"id": 1}), Some(Duration::from_secs(60))).await?;
/// assert_eq!(near.get("k").await?, Some(serde_json::json!({"id": 1}))); // from shared
/// assert_eq!(near.get("k").await?, Some(serde_json::json!({"id": 1}))); // near hit
/// # Ok::<(), comic_vine_store::StoreError>(())
/// # }).unwrap();
/// ```
pub struct NearCache<S, V = serde_json::Value> {
    inner: Arc<Inner<S, V>>,
}

struct Inner<S, V> {
    shared: S,
    local: moka::sync::Cache<String, Arc<Local<V>>>,
    epochs: [AtomicU64; STRIPES],
    clock: SharedClock,
    max_local_age: Duration,
    max_weight: u64,
    min_weight: u64,
}

impl<S, V> Clone for NearCache<S, V> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// How much a [`NearCache`] holds locally (see [`NearCache::local_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NearStats {
    /// Local entries.
    pub entries: u64,
    /// Their weight: each entry's key plus serialized value length, at least
    /// `max_bytes / max_entries`; never more than `max_bytes` once evictions ran.
    pub weighted_bytes: u64,
}

impl<S, V> NearCache<S, V>
where
    S: CacheStore<V> + 'static,
    V: Serialize + Clone + Send + Sync + 'static,
{
    /// A builder over `shared`, with the defaults: 10,000 entries, 64 MiB, 5 s.
    pub fn builder(shared: S) -> NearCacheBuilder<S, V> {
        NearCacheBuilder {
            shared,
            max_entries: 10_000,
            max_bytes: 64 << 20,
            max_local_age: Duration::from_secs(5),
            clock: Arc::new(SystemClock),
            _value: PhantomData,
        }
    }

    /// The shared store behind this cache.
    pub fn shared(&self) -> &S {
        &self.inner.shared
    }

    /// The maximum local age this cache was built with.
    pub fn max_local_age(&self) -> Duration {
        self.inner.max_local_age
    }

    /// What is held locally, after pending evictions have run.
    pub async fn local_stats(&self) -> NearStats {
        self.inner.local.run_pending_tasks();
        NearStats {
            entries: self.inner.local.entry_count(),
            weighted_bytes: self.inner.local.weighted_size(),
        }
    }

    fn epoch(&self, hash: &str) -> &AtomicU64 {
        let mut h = DefaultHasher::new();
        hash.hash(&mut h);
        &self.inner.epochs[(h.finish() % STRIPES as u64) as usize]
    }

    /// Keeps `entry`, read from the shared store by a read that started at `start`
    /// when the key's epoch was `epoch`, unless it is not fresh, too heavy, or a write
    /// to its stripe ran meanwhile (then what was kept is dropped again).
    fn admit(&self, hash: &str, entry: &CacheEntry<V>, start: Timestamp, epoch: u64) {
        let valid_until = start
            .saturating_add(self.inner.max_local_age)
            .min(entry.fresh_until);
        if valid_until <= self.inner.clock.now() {
            return;
        }
        // The shared store's own count where it gave one (all three backends do).
        let Some(len) = entry.json_len.or_else(|| json_len(&entry.value)) else {
            return;
        };
        let weight = (len + hash.len() as u64).max(self.inner.min_weight);
        if weight > self.inner.max_weight {
            tracing::trace!(
                hash,
                weight,
                "near cache: value over the byte budget, not kept"
            );
            return;
        }
        let local = Arc::new(Local {
            entry: entry.clone(),
            valid_until,
            weight: weight as u32,
        });
        self.inner.local.insert(hash.to_owned(), local);
        if self.epoch(hash).load(Ordering::SeqCst) != epoch {
            self.inner.local.invalidate(hash);
        }
    }

    /// Drops the local copy of `hash` after a write through this cache, whatever its
    /// outcome (a failed write may still have landed).
    fn invalidate(&self, hash: &str) {
        self.epoch(hash).fetch_add(1, Ordering::SeqCst);
        self.inner.local.invalidate(hash);
    }
}

#[async_trait]
impl<S, V> CacheStore<V> for NearCache<S, V>
where
    S: CacheStore<V> + 'static,
    V: Serialize + Clone + Send + Sync + 'static,
{
    /// A live local copy if there is one (a near hit: no request); otherwise the
    /// shared store's entry, kept locally while fresh (for at most the maximum local
    /// age). Stale entries are always read from the shared store.
    async fn get_entry(&self, hash: &str) -> StoreResult<Option<CacheEntry<V>>> {
        let start = self.inner.clock.now();
        if let Some(local) = self.inner.local.get(hash) {
            if start < local.valid_until {
                metrics::counter!(NEAR_HITS_COUNTER).increment(1);
                tracing::trace!(hash, "near cache hit");
                return Ok(Some(local.entry.clone()));
            }
            self.inner.local.invalidate(hash);
        }
        metrics::counter!(NEAR_MISSES_COUNTER).increment(1);
        let epoch = self.epoch(hash).load(Ordering::SeqCst);
        let found = self.inner.shared.get_entry(hash).await?;
        if let Some(entry) = &found {
            self.admit(hash, entry, start, epoch);
        }
        Ok(found)
    }

    /// Writes to the shared store and drops the local copy (the next read fetches the
    /// entry as the shared store stamped it).
    async fn set_entry(&self, hash: &str, value: &V, freshness: Freshness) -> StoreResult<()> {
        let result = self.inner.shared.set_entry(hash, value, freshness).await;
        self.invalidate(hash);
        result
    }

    /// Restamps the entry (and replaces its metadata, if given) in the shared store,
    /// and drops the local copy (the next read fetches the new times and metadata).
    async fn restamp(&self, hash: &str, restamp: Restamp<'_>) -> StoreResult<bool> {
        let result = self.inner.shared.restamp(hash, restamp).await;
        self.invalidate(hash);
        result
    }

    /// Deletes from the shared store and locally.
    async fn delete(&self, hash: &str) -> StoreResult<()> {
        let result = self.inner.shared.delete(hash).await;
        self.invalidate(hash);
        result
    }

    /// Clears the shared store and every local copy.
    async fn clear(&self) -> StoreResult<u64> {
        let result = self.inner.shared.clear().await;
        for epoch in &self.inner.epochs {
            epoch.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.local.invalidate_all();
        result
    }

    /// Purges the resource in the shared store and drops every local copy of its
    /// entries.
    async fn purge_resource(&self, resource: &str) -> StoreResult<u64> {
        let result = self.inner.shared.purge_resource(resource).await;
        for epoch in &self.inner.epochs {
            epoch.fetch_add(1, Ordering::SeqCst);
        }
        let part = encode_resource(resource).into_owned();
        let dropped = self
            .inner
            .local
            .invalidate_entries_if(move |key, _| key_resource(key) == Some(part.as_str()));
        if let Err(e) = dropped {
            tracing::warn!(error = %e, "near cache: dropping all local copies instead");
            self.inner.local.invalidate_all();
        }
        result
    }

    /// The shared store's resources.
    async fn cached_resources(&self) -> StoreResult<Option<Vec<String>>> {
        self.inner.shared.cached_resources().await
    }

    /// The shared store's entries of `resource`.
    async fn resource_entries(
        &self,
        resource: &str,
        limit: usize,
    ) -> StoreResult<Option<ResourceEntries>> {
        self.inner.shared.resource_entries(resource, limit).await
    }

    /// The shared store's cleanup (local copies expire by themselves).
    async fn cleanup(&self) -> StoreResult<u64> {
        self.inner.shared.cleanup().await
    }

    /// The shared store's stats (see [`NearCache::local_stats`] for the local side).
    async fn stats(&self) -> StoreResult<CacheStats> {
        self.inner.shared.stats().await
    }

    /// The shared store's health.
    async fn health_check(&self) -> StoreResult<HealthStatus> {
        self.inner.shared.health_check().await
    }

    /// The shared store: a dedupe store built with it (e.g. DynamoDB's, which completes
    /// the job and then writes its entry itself) still does so behind this cache. Such a write bypasses the local copy and is seen here as another process's
    /// would be; the miss and refresh paths that make it have no fresh local copy.
    fn writes_through_to(&self) -> Option<&dyn CacheStore<V>> {
        Some(&self.inner.shared)
    }
}

/// The length of `value`'s JSON, counted without keeping it.
fn json_len<V: Serialize>(value: &V) -> Option<u64> {
    struct Count(u64);
    impl io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).ok()?;
    Some(count.0)
}

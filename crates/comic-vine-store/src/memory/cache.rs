use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::ops::Bound;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::lock;
use crate::cache::{
    CacheEntry, CacheStats, CacheStore, CleanupTask, EntrySummary, EntryTimes, Freshness,
    HealthStatus, RESOURCE_SEPARATOR, ResourceEntries, Restamp, encode_resource, key_resource,
    resource_names, serialize_value, spawn_periodic_cleanup,
};
use crate::clock::{SharedClock, SystemClock, Timestamp};
use crate::config::CacheConfig;
use crate::error::StoreResult;
use crate::validate;

struct Entry {
    bytes: Arc<[u8]>,
    times: EntryTimes,
    meta: Option<serde_json::Value>,
}

impl Entry {
    fn expires_at(&self) -> Timestamp {
        self.times.stale_until
    }
}

/// An in-memory [`CacheStore`].
///
/// ```
/// # tokio_test_block_on(async {
/// use comic_vine_store::{CacheStore, memory::MemoryCacheStore};
/// use std::time::Duration;
///
/// let cache: MemoryCacheStore<serde_json::Value> = MemoryCacheStore::new();
/// cache.set("k", &serde_json::json!({"id": 1}), Some(Duration::from_secs(60))).await?;
/// assert_eq!(cache.get("k").await?, Some(serde_json::json!({"id": 1})));
/// # Ok::<(), comic_vine_store::StoreError>(())
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
pub struct MemoryCacheStore<V = serde_json::Value> {
    entries: Arc<Mutex<BTreeMap<String, Entry>>>,
    clock: SharedClock,
    config: CacheConfig,
    periodic: Option<Arc<CleanupTask>>,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for MemoryCacheStore<V> {
    fn clone(&self) -> Self {
        Self {
            entries: Arc::clone(&self.entries),
            clock: Arc::clone(&self.clock),
            config: self.config.clone(),
            periodic: self.periodic.clone(),
            _value: PhantomData,
        }
    }
}

impl<V> Default for MemoryCacheStore<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> MemoryCacheStore<V> {
    /// An empty cache with the default configuration and the system clock.
    pub fn new() -> Self {
        Self {
            entries: Arc::default(),
            clock: Arc::new(SystemClock),
            config: CacheConfig::default(),
            periodic: None,
            _value: PhantomData,
        }
    }

    /// A builder, for a cache with a clock, settings or periodic cleanup of its own.
    pub fn builder() -> MemoryCacheStoreBuilder<V> {
        MemoryCacheStoreBuilder {
            store: Self::new(),
            cleanup_interval: None,
        }
    }

    /// An empty cache with `config` (validated).
    pub fn with_config(config: CacheConfig) -> StoreResult<Self> {
        config.validate()?;
        Ok(Self {
            config,
            ..Self::new()
        })
    }

    /// A handle on the same entries that reads time from `clock`.
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self {
            clock,
            ..self.clone()
        }
    }
}

/// The keys of `resource`'s entries: those from `<resource>/` up to the next prefix.
fn resource_range(resource: &str) -> StoreResult<(Bound<String>, Bound<String>)> {
    validate::resource(resource)?;
    let part = encode_resource(resource);
    // `0` follows `/`: every key `<part>/…` sorts between these two.
    Ok((
        Bound::Included(format!("{part}{RESOURCE_SEPARATOR}")),
        Bound::Excluded(format!("{part}0")),
    ))
}

/// Builds a [`MemoryCacheStore`]: `MemoryCacheStore::builder()…build()?`.
pub struct MemoryCacheStoreBuilder<V = serde_json::Value> {
    store: MemoryCacheStore<V>,
    cleanup_interval: Option<Duration>,
}

impl<V> MemoryCacheStoreBuilder<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Cache settings (validated by `build`).
    pub fn config(mut self, config: CacheConfig) -> Self {
        self.store.config = config;
        self
    }

    /// The clock entries expire by.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.store.clock = clock;
        self
    }

    /// Runs `cleanup` in the background every `interval` (the seed's
    /// `cleanupIntervalMs`, e.g. 5 minutes) until the last handle on the store is
    /// dropped; see [`spawn_periodic_cleanup`]. Off unless set.
    pub fn cleanup_interval(mut self, interval: Duration) -> Self {
        self.cleanup_interval = Some(interval);
        self
    }

    /// The store; periodic cleanup needs a running Tokio runtime.
    pub fn build(self) -> StoreResult<MemoryCacheStore<V>> {
        let mut store = self.store;
        store.config.validate()?;
        if let Some(interval) = self.cleanup_interval {
            let scope = format!("memory cache {:p}", Arc::as_ptr(&store.entries));
            let task = spawn_periodic_cleanup(store.clone(), scope, interval, |s| async move {
                CacheStore::<V>::cleanup(s.as_ref()).await
            })?;
            store.periodic = Some(Arc::new(task));
        }
        Ok(store)
    }
}

#[async_trait]
impl<V> CacheStore<V> for MemoryCacheStore<V>
where
    V: Serialize + DeserializeOwned + Send + Sync,
{
    async fn get_entry(&self, hash: &str) -> StoreResult<Option<CacheEntry<V>>> {
        validate::key("hash", hash)?;
        let now = self.clock.now();
        let found = {
            let mut entries = lock(&self.entries);
            match entries.get(hash) {
                Some(e) if e.expires_at() > now => {
                    Some((Arc::clone(&e.bytes), e.times, e.meta.clone()))
                }
                Some(_) => {
                    entries.remove(hash);
                    None
                }
                None => None,
            }
        };
        match found {
            Some((bytes, times, meta)) => {
                Ok(Some(CacheEntry::from_json(&bytes, times)?.with_meta(meta)))
            }
            None => Ok(None),
        }
    }

    async fn set_entry(&self, hash: &str, value: &V, freshness: Freshness) -> StoreResult<()> {
        validate::key("hash", hash)?;
        let times = freshness.times_at(self.clock.now(), &self.config)?;
        let bytes: Arc<[u8]> = serialize_value(hash, value)?.into();
        let mut entries = lock(&self.entries);
        match times {
            None => entries.remove(hash),
            Some(times) => {
                let entry = Entry {
                    bytes,
                    times,
                    meta: None,
                };
                entries.insert(hash.to_owned(), entry)
            }
        };
        Ok(())
    }

    async fn restamp(&self, hash: &str, restamp: Restamp<'_>) -> StoreResult<bool> {
        let now = self.clock.now();
        let (times, _) = restamp.checked(hash, now, &self.config)?;
        let mut entries = lock(&self.entries);
        let live = entries.get(hash).is_some_and(|e| e.expires_at() > now);
        match (times, entries.get_mut(hash)) {
            (Some(times), Some(entry)) if live => {
                entry.times = times;
                if let Some(meta) = restamp.meta {
                    entry.meta = Some(meta.clone());
                }
                Ok(true)
            }
            _ => {
                entries.remove(hash);
                Ok(false)
            }
        }
    }

    async fn delete(&self, hash: &str) -> StoreResult<()> {
        validate::key("hash", hash)?;
        lock(&self.entries).remove(hash);
        Ok(())
    }

    async fn clear(&self) -> StoreResult<u64> {
        let mut entries = lock(&self.entries);
        let n = entries.len() as u64;
        entries.clear();
        Ok(n)
    }

    async fn cleanup(&self) -> StoreResult<u64> {
        let now = self.clock.now();
        let mut entries = lock(&self.entries);
        let before = entries.len();
        entries.retain(|_, e| e.expires_at() > now);
        Ok((before - entries.len()) as u64)
    }

    async fn purge_resource(&self, resource: &str) -> StoreResult<u64> {
        let range = resource_range(resource)?;
        let mut entries = lock(&self.entries);
        let keys: Vec<String> = entries.range(range).map(|(k, _)| k.clone()).collect();
        for key in &keys {
            entries.remove(key);
        }
        Ok(keys.len() as u64)
    }

    async fn cached_resources(&self) -> StoreResult<Option<Vec<String>>> {
        let entries = lock(&self.entries);
        Ok(Some(resource_names(
            entries.keys().filter_map(|k| key_resource(k)),
        )))
    }

    async fn resource_entries(
        &self,
        resource: &str,
        limit: usize,
    ) -> StoreResult<Option<ResourceEntries>> {
        let range = resource_range(resource)?;
        let mut listing = ResourceEntries::new(resource);
        for (key, e) in lock(&self.entries).range(range) {
            let summary = EntrySummary {
                key: key.clone(),
                bytes: e.bytes.len() as u64,
                times: e.times,
            };
            listing.push(summary, limit);
        }
        Ok(Some(listing))
    }

    async fn stats(&self) -> StoreResult<CacheStats> {
        let now = self.clock.now();
        let entries = lock(&self.entries);
        Ok(CacheStats {
            entries: entries.len() as u64,
            expired_entries: entries.values().filter(|e| e.expires_at() <= now).count() as u64,
            approximate_bytes: entries
                .iter()
                .map(|(k, e)| (k.len() + e.bytes.len()) as u64)
                .sum(),
            orphan_chunks: 0,
            orphan_bytes: 0,
            unresourced_entries: entries.keys().filter(|k| key_resource(k).is_none()).count()
                as u64,
        })
    }

    async fn health_check(&self) -> StoreResult<HealthStatus> {
        let started = Instant::now();
        let entries = lock(&self.entries).len();
        Ok(HealthStatus {
            healthy: true,
            latency: started.elapsed(),
            detail: format!("in-memory cache, {entries} entries"),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test(start_paused = true)]
    async fn periodic_cleanup_removes_expired_entries_until_the_store_is_dropped() {
        let clock = ManualClock::starting_now();
        let cache: MemoryCacheStore<Value> = MemoryCacheStore::builder()
            .clock(Arc::new(clock.clone()))
            .cleanup_interval(Duration::from_secs(300))
            .build()
            .unwrap();
        let ten_secs = Some(Duration::from_secs(10));
        for i in 0..3 {
            cache
                .set(&format!("short-{i}"), &json!(i), ten_secs)
                .await
                .unwrap();
        }
        cache
            .set("long", &json!("kept"), Some(Duration::from_secs(3_600)))
            .await
            .unwrap();
        clock.advance(Duration::from_secs(60));
        assert_eq!(cache.stats().await.unwrap().expired_entries, 3);
        tokio::time::sleep(Duration::from_secs(301)).await;
        let stats = cache.stats().await.unwrap();
        assert_eq!(
            (stats.entries, stats.expired_entries),
            (1, 0),
            "expired ones removed"
        );

        // A clone keeps the task; dropping every handle stops it and frees the entries.
        let clone = cache.clone();
        let entries = Arc::downgrade(&cache.entries);
        drop(cache);
        clone.set("short-again", &json!(1), ten_secs).await.unwrap();
        clock.advance(Duration::from_secs(60));
        tokio::time::sleep(Duration::from_secs(300)).await;
        assert_eq!(
            clone.stats().await.unwrap().entries,
            1,
            "still cleaned through a clone"
        );
        drop(clone);
        tokio::task::yield_now().await;
        assert!(
            entries.upgrade().is_none(),
            "the task keeps nothing alive once dropped"
        );
    }

    #[tokio::test]
    async fn a_refused_set_keeps_no_copy_and_the_old_value() {
        let cache: MemoryCacheStore<Value> = MemoryCacheStore::new();
        cache.set("k", &json!(1), None).await.unwrap();
        let over = json!("x".repeat(crate::MAX_VALUE_BYTES));
        let e = cache.set("k", &over, None).await.unwrap_err();
        assert!(matches!(e, crate::StoreError::ItemTooLarge { .. }), "{e}");
        assert_eq!(cache.get("k").await.unwrap(), Some(json!(1)));
    }

    #[test]
    fn a_bad_interval_or_config_is_refused() {
        let e = MemoryCacheStore::<Value>::builder()
            .config(CacheConfig {
                default_ttl: Duration::ZERO,
                ..CacheConfig::default()
            })
            .build();
        assert!(e.is_err());
    }
}

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::lock;
use crate::cache::{CacheStats, CacheStore, HealthStatus};
use crate::clock::{SharedClock, SystemClock, Timestamp};
use crate::config::CacheConfig;
use crate::error::StoreResult;
use crate::validate;

struct Entry {
    bytes: Arc<[u8]>,
    expires_at: Timestamp,
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
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    clock: SharedClock,
    config: CacheConfig,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for MemoryCacheStore<V> {
    fn clone(&self) -> Self {
        Self {
            entries: Arc::clone(&self.entries),
            clock: Arc::clone(&self.clock),
            config: self.config.clone(),
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
            _value: PhantomData,
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

#[async_trait]
impl<V> CacheStore<V> for MemoryCacheStore<V>
where
    V: Serialize + DeserializeOwned + Send + Sync,
{
    async fn get(&self, hash: &str) -> StoreResult<Option<V>> {
        validate::key("hash", hash)?;
        let now = self.clock.now();
        let bytes = {
            let mut entries = lock(&self.entries);
            match entries.get(hash) {
                Some(e) if e.expires_at > now => Some(Arc::clone(&e.bytes)),
                Some(_) => {
                    entries.remove(hash);
                    None
                }
                None => None,
            }
        };
        bytes
            .map(|b| serde_json::from_slice(&b).map_err(Into::into))
            .transpose()
    }

    async fn set(&self, hash: &str, value: &V, ttl: Option<Duration>) -> StoreResult<()> {
        validate::key("hash", hash)?;
        let ttl = self.config.effective_ttl(ttl)?;
        let bytes: Arc<[u8]> = serde_json::to_vec(value)?.into();
        let mut entries = lock(&self.entries);
        if ttl.is_zero() {
            entries.remove(hash);
        } else {
            let expires_at = self.clock.now().saturating_add(ttl);
            entries.insert(hash.to_owned(), Entry { bytes, expires_at });
        }
        Ok(())
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
        entries.retain(|_, e| e.expires_at > now);
        Ok((before - entries.len()) as u64)
    }

    async fn stats(&self) -> StoreResult<CacheStats> {
        let now = self.clock.now();
        let entries = lock(&self.entries);
        Ok(CacheStats {
            entries: entries.len() as u64,
            expired_entries: entries.values().filter(|e| e.expires_at <= now).count() as u64,
            approximate_bytes: entries
                .iter()
                .map(|(k, e)| (k.len() + e.bytes.len()) as u64)
                .sum(),
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

//! [`StoreCacheManager`]: http-cache's [`CacheManager`] on a [`CacheStore`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use comic_vine_store::{CacheConfig, CacheStore, StoreError};
use http_cache::{CacheManager, HttpResponse};
use http_cache_semantics::CachePolicy;
use sha2::{Digest, Sha256};

use crate::entry::HttpCacheEntry;
use crate::error::HttpCacheStoreError;

/// The store key prefix of [`StoreCacheManager::new`].
pub const DEFAULT_KEY_PREFIX: &str = "http-cache:";

/// How long an entry stays past its freshness by default: one day, so that stale
/// responses can still be revalidated (`ETag`/`Last-Modified`) or served by
/// `CacheMode::ForceCache`/`stale-if-error`.
pub const DEFAULT_STALE_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// An http-cache [`CacheManager`] that keeps responses in any
/// `CacheStore<HttpCacheEntry>` (memory, SQLite, DynamoDB), so every process of a fleet
/// using `http-cache-reqwest` shares one cache.
///
/// - Keys: http-cache's key (e.g. `GET:https://…`) is hashed (SHA-256, hex) behind a
///   prefix, so any URL length fits the store's key limit and the entries of one table
///   stay apart from other users'.
/// - TTL: the policy's time to live now, plus the stale retention, capped at the
///   maximum TTL (default: the core's [`CacheConfig`] maximum, 30 days; set it to your
///   store's `max_ttl` if that is lower). A zero TTL stores nothing.
/// - A stored entry that does not decode (another layout, corruption) is logged,
///   removed and read as a miss; a failing store is an error
///   ([`HttpCacheStoreError::Store`]).
#[derive(Clone)]
pub struct StoreCacheManager {
    store: Arc<dyn CacheStore<HttpCacheEntry>>,
    prefix: String,
    stale_retention: Duration,
    max_ttl: Duration,
}

impl std::fmt::Debug for StoreCacheManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreCacheManager")
            .field("prefix", &self.prefix)
            .field("stale_retention", &self.stale_retention)
            .field("max_ttl", &self.max_ttl)
            .finish_non_exhaustive()
    }
}

impl StoreCacheManager {
    /// A manager on `store` with the [`DEFAULT_KEY_PREFIX`], the
    /// [`DEFAULT_STALE_RETENTION`] and the core's maximum TTL.
    pub fn new(store: Arc<dyn CacheStore<HttpCacheEntry>>) -> Self {
        Self {
            store,
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            stale_retention: DEFAULT_STALE_RETENTION,
            max_ttl: CacheConfig::default().max_ttl,
        }
    }

    /// Uses `prefix` before every store key (e.g. one per API, to clear them apart).
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Keeps entries `retention` past their freshness (zero: drop them once stale).
    pub fn with_stale_retention(mut self, retention: Duration) -> Self {
        self.stale_retention = retention;
        self
    }

    /// Caps every entry's TTL at `max_ttl` (use the store's `CacheConfig::max_ttl`).
    pub fn with_max_ttl(mut self, max_ttl: Duration) -> Self {
        self.max_ttl = max_ttl;
        self
    }

    /// The store key of an http-cache key.
    pub fn store_key(&self, cache_key: &str) -> String {
        let digest = Sha256::digest(cache_key.as_bytes());
        format!("{}{}", self.prefix, hex::encode(digest))
    }

    /// The TTL an entry stored now under `policy` gets.
    pub fn ttl_for(&self, policy: &CachePolicy, now: SystemTime) -> Duration {
        policy
            .time_to_live(now)
            .saturating_add(self.stale_retention)
            .min(self.max_ttl)
    }

    /// The entry under `cache_key` as stored, decoding errors included.
    async fn load(
        &self,
        key: &str,
    ) -> Result<Option<(HttpResponse, CachePolicy)>, HttpCacheStoreError> {
        let entry = match self.store.get(key).await {
            Ok(entry) => entry,
            Err(e @ (StoreError::Serialization(_) | StoreError::Corrupt { .. })) => {
                return self
                    .discard(key, HttpCacheStoreError::store("get", e))
                    .await;
            }
            Err(e) => return Err(HttpCacheStoreError::store("get", e)),
        };
        match entry.map(HttpCacheEntry::into_parts).transpose() {
            Ok(found) => Ok(found),
            Err(e) => self.discard(key, e).await,
        }
    }

    /// Logs and removes an entry that does not decode; it reads as a miss.
    async fn discard(
        &self,
        key: &str,
        error: HttpCacheStoreError,
    ) -> Result<Option<(HttpResponse, CachePolicy)>, HttpCacheStoreError> {
        tracing::warn!(key, error = %error, "discarding an undecodable http-cache entry");
        self.store
            .delete(key)
            .await
            .map_err(|e| HttpCacheStoreError::store("delete", e))?;
        Ok(None)
    }
}

impl CacheManager for StoreCacheManager {
    async fn get(
        &self,
        cache_key: &str,
    ) -> http_cache::Result<Option<(HttpResponse, CachePolicy)>> {
        let key = self.store_key(cache_key);
        let found = self.load(&key).await?;
        tracing::debug!(cache_key, hit = found.is_some(), "http-cache get");
        Ok(found)
    }

    async fn put(
        &self,
        cache_key: String,
        res: HttpResponse,
        policy: CachePolicy,
    ) -> http_cache::Result<HttpResponse> {
        let key = self.store_key(&cache_key);
        let ttl = self.ttl_for(&policy, SystemTime::now());
        let entry = HttpCacheEntry::new(&res, policy);
        self.store
            .set(&key, &entry, Some(ttl))
            .await
            .map_err(|e| HttpCacheStoreError::store("put", e))?;
        tracing::debug!(cache_key, ?ttl, bytes = res.body.len(), "http-cache put");
        Ok(res)
    }

    async fn delete(&self, cache_key: &str) -> http_cache::Result<()> {
        let key = self.store_key(cache_key);
        self.store
            .delete(&key)
            .await
            .map_err(|e| HttpCacheStoreError::store("delete", e))?;
        Ok(())
    }
}

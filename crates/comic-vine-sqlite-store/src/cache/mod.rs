//! [`SqliteCacheStore`]: the response cache in one table of the database file.
//!
//! One row per entry: the key, the value's serde_json bytes exactly as serialized
//! (a BLOB, so no text conversion touches them) and its times in milliseconds
//! (`stored_at`, `fresh_until`, and `expires_at`, the end of its stale horizon).
//! and `meta`, the entry's metadata (JSON bytes, NULL until `touch_with_meta`).
//! Every read filters on expiry; `cleanup` deletes what has expired; `touch` is one
//! UPDATE of the times (and `touch_with_meta` of the times and `meta`).

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use comic_vine_store::cache::{ResourceEntries, Restamp, serialize_value};
use comic_vine_store::clock::SharedClock;
use comic_vine_store::{
    CacheConfig, CacheEntry, CacheStats, CacheStore, EntryTimes, Freshness, HealthStatus,
    StoreError, StoreResult, Timestamp, validate,
};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::handle::SqliteStore;

mod resource;

/// Milliseconds since the epoch as SQLite's INTEGER.
pub(crate) fn millis(t: Timestamp) -> i64 {
    i64::try_from(t.as_millis()).unwrap_or(i64::MAX)
}

/// A timestamp read back from an INTEGER column (negative values clamp to the epoch).
fn timestamp(millis: i64) -> Timestamp {
    Timestamp::from_millis(u64::try_from(millis).unwrap_or(0))
}

/// A [`CacheStore`] in a SQLite database file, shared by every process that opens
/// the file.
///
/// ```no_run
/// use std::time::Duration;
/// use comic_vine_sqlite_store::{SqliteCacheStore, SqliteStore};
/// use comic_vine_store::CacheStore;
///
/// # async fn example() -> comic_vine_store::StoreResult<()> {
/// let db = SqliteStore::open("comic-vine.db").await?;
/// let cache: SqliteCacheStore = SqliteCacheStore::new(&db);
/// cache.set("k", &serde_json::json!({"id": 1}), Some(Duration::from_secs(60))).await?;
/// # Ok(()) }
/// ```
pub struct SqliteCacheStore<V = serde_json::Value> {
    db: SqliteStore,
    config: CacheConfig,
    clock: SharedClock,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for SqliteCacheStore<V> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            config: self.config.clone(),
            clock: Arc::clone(&self.clock),
            _value: PhantomData,
        }
    }
}

impl<V> SqliteCacheStore<V> {
    /// A cache in `db`, with the handle's cache settings and clock.
    pub fn new(db: &SqliteStore) -> Self {
        Self {
            db: db.clone(),
            config: db.cache_config().clone(),
            clock: Arc::clone(db.clock()),
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

    fn now(&self) -> i64 {
        millis(self.clock.now())
    }
}

/// A row read back: value, `stored_at`, `fresh_until`, `expires_at`, `meta`.
type Row = (Vec<u8>, i64, i64, i64, Option<Vec<u8>>);

#[async_trait]
impl<V> CacheStore<V> for SqliteCacheStore<V>
where
    V: Serialize + DeserializeOwned + Send + Sync,
{
    async fn get_entry(&self, hash: &str) -> StoreResult<Option<CacheEntry<V>>> {
        validate::key("hash", hash)?;
        let (key, now) = (hash.to_owned(), self.now());
        let row: Option<Row> = self
            .db
            .call("cache.get", move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT value, stored_at, fresh_until, expires_at, meta FROM cache_entries
                     WHERE key = ?1 AND expires_at > ?2",
                )?;
                Ok(stmt
                    .query_row(params![key, now], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })
                    .optional()?)
            })
            .await?;
        let Some((bytes, stored_at, fresh_until, expires_at, meta)) = row else {
            return Ok(None);
        };
        let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt {
            key: hash.to_owned(),
            reason: format!("cached {what} does not deserialize: {e}"),
        };
        let meta = meta
            .map(|m| serde_json::from_slice(&m).map_err(|e| corrupt("metadata", e)))
            .transpose()?;
        let times = EntryTimes::ordered(
            timestamp(stored_at),
            timestamp(fresh_until),
            timestamp(expires_at),
        );
        let entry = CacheEntry::from_json(&bytes, times).map_err(|e| corrupt("value", e))?;
        Ok(Some(entry.with_meta(meta)))
    }

    async fn set_entry(&self, hash: &str, value: &V, freshness: Freshness) -> StoreResult<()> {
        validate::key("hash", hash)?;
        let times = freshness.times_at(self.clock.now(), &self.config)?;
        // The one size limit of every backend, checked before anything is written.
        let bytes = serialize_value(hash, value)?;
        let Some(times) = times else {
            return self.delete(hash).await;
        };
        let key = hash.to_owned();
        self.db
            .call("cache.set", move |c| {
                c.prepare_cached(
                    "INSERT INTO cache_entries (key, value, stored_at, fresh_until, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (key) DO UPDATE
                     SET value = excluded.value, stored_at = excluded.stored_at,
                         fresh_until = excluded.fresh_until, expires_at = excluded.expires_at,
                         meta = NULL",
                )?
                .execute(params![
                    key,
                    bytes,
                    millis(times.stored_at),
                    millis(times.fresh_until),
                    millis(times.stale_until)
                ])?;
                Ok(())
            })
            .await
    }

    async fn restamp(&self, hash: &str, restamp: Restamp<'_>) -> StoreResult<bool> {
        let now = self.clock.now();
        let (times, meta) = restamp.checked(hash, now, &self.config)?;
        let Some(times) = times else {
            CacheStore::<V>::delete(self, hash).await?;
            return Ok(false);
        };
        let key = hash.to_owned();
        self.db
            .call("cache.touch", move |c| {
                let changed = c
                    .prepare_cached(
                        "UPDATE cache_entries SET stored_at = ?2, fresh_until = ?3,
                             expires_at = ?4, meta = CASE WHEN ?5 THEN ?6 ELSE meta END
                         WHERE key = ?1 AND expires_at > ?2",
                    )?
                    .execute(params![
                        key,
                        millis(times.stored_at),
                        millis(times.fresh_until),
                        millis(times.stale_until),
                        meta.is_some(),
                        meta
                    ])?;
                Ok(changed > 0)
            })
            .await
    }

    async fn delete(&self, hash: &str) -> StoreResult<()> {
        validate::key("hash", hash)?;
        let key = hash.to_owned();
        self.db
            .call("cache.delete", move |c| {
                c.prepare_cached("DELETE FROM cache_entries WHERE key = ?1")?
                    .execute([key])?;
                Ok(())
            })
            .await
    }

    async fn clear(&self) -> StoreResult<u64> {
        self.db
            .call("cache.clear", |c| {
                Ok(c.execute("DELETE FROM cache_entries", [])? as u64)
            })
            .await
    }

    async fn cleanup(&self) -> StoreResult<u64> {
        let now = self.now();
        self.db
            .call("cache.cleanup", move |c| {
                Ok(c.execute("DELETE FROM cache_entries WHERE expires_at <= ?1", [now])? as u64)
            })
            .await
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

    async fn stats(&self) -> StoreResult<CacheStats> {
        let now = self.now();
        self.db
            .call("cache.stats", move |c| {
                Ok(c.query_row(
                    "SELECT count(*), coalesce(sum(expires_at <= ?1), 0),
                            coalesce(sum(length(CAST(key AS BLOB)) + length(value)), 0),
                            coalesce(sum(instr(key, '/') <= 1), 0)
                     FROM cache_entries",
                    [now],
                    |r| {
                        let n = |i| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                        Ok(CacheStats {
                            entries: n(0)?,
                            expired_entries: n(1)?,
                            approximate_bytes: n(2)?,
                            // Values live in their rows: there are no chunks to orphan.
                            orphan_chunks: 0,
                            orphan_bytes: 0,
                            unresourced_entries: n(3)?,
                        })
                    },
                )?)
            })
            .await
    }

    async fn health_check(&self) -> StoreResult<HealthStatus> {
        let started = Instant::now();
        let path = self.db.path().display().to_string();
        let answer = self
            .db
            .call("cache.health_check", |c| {
                let entries: i64 =
                    c.query_row("SELECT count(*) FROM cache_entries", [], |r| r.get(0))?;
                let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                Ok((entries, mode))
            })
            .await;
        Ok(match answer {
            Ok((entries, mode)) => HealthStatus {
                healthy: true,
                latency: started.elapsed(),
                detail: format!(
                    "SQLite {} at `{path}` (journal mode {mode}), {entries} cache entries",
                    rusqlite::version()
                ),
            },
            Err(e) => HealthStatus {
                healthy: false,
                latency: started.elapsed(),
                detail: e.to_string(),
            },
        })
    }
}

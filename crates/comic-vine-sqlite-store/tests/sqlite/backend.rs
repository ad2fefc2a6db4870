//! The SQLite stores as a conformance backend: one fresh database file per test, every
//! factory call a new handle (its own connection, a stand-in for another process) on
//! that file.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use comic_vine_sqlite_store::{SqliteCacheStore, SqliteStore};
use comic_vine_store::conformance::{CacheBackend, Setup};
use comic_vine_store::{CacheStore, StoreResult};
use serde_json::Value;
use tempfile::TempDir;

pub struct SqliteBackend {
    _dir: TempDir,
    path: PathBuf,
}

impl SqliteBackend {
    pub async fn fresh() -> Self {
        let dir = TempDir::new().expect("temp dir");
        let path = dir.path().join("store.db");
        Self { _dir: dir, path }
    }

    /// A new handle on the file, configured from `setup`.
    pub async fn handle(&self, setup: &Setup) -> StoreResult<SqliteStore> {
        SqliteStore::builder(&self.path)
            .cache(setup.cache.clone())
            .clock(setup.store_clock())
            .open()
            .await
    }
}

#[async_trait]
impl CacheBackend for SqliteBackend {
    async fn cache(&self, setup: &Setup) -> StoreResult<Arc<dyn CacheStore<Value>>> {
        Ok(Arc::new(SqliteCacheStore::new(&self.handle(setup).await?)))
    }
}

#[async_trait]
impl RawCacheBackend for SqliteBackend {
    async fn raw_cache(&self, setup: &Setup) -> StoreResult<Arc<dyn CacheStore<RawJson>>> {
        Ok(Arc::new(SqliteCacheStore::new(&self.handle(setup).await?)))
    }
}

use comic_vine_sqlite_store::SqliteStateCell;
use comic_vine_store::RawJson;
use comic_vine_store::cell::{CellAdaptiveStore, CellDedupeStore, CellRateLimitStore};
use comic_vine_store::conformance::{
    AdaptiveBackend, DedupeBackend, RateLimitBackend, RawCacheBackend,
};
use comic_vine_store::{AdaptiveRateLimitStore, DedupeStore, RateLimitStore};

impl SqliteBackend {
    async fn cell(&self, setup: &Setup) -> StoreResult<Arc<SqliteStateCell>> {
        Ok(Arc::new(SqliteStateCell::new(&self.handle(setup).await?)))
    }
}

#[async_trait]
impl RateLimitBackend for SqliteBackend {
    async fn rate_limit(&self, setup: &Setup) -> StoreResult<Arc<dyn RateLimitStore>> {
        Ok(Arc::new(CellRateLimitStore::new(
            self.cell(setup).await?,
            setup.rate_limits.clone(),
            setup.store_clock(),
        )))
    }
}

#[async_trait]
impl AdaptiveBackend for SqliteBackend {
    async fn adaptive(&self, setup: &Setup) -> StoreResult<Arc<dyn AdaptiveRateLimitStore>> {
        Ok(Arc::new(CellAdaptiveStore::new(
            self.cell(setup).await?,
            setup.rate_limits.clone(),
            setup.adaptive.clone(),
            setup.store_clock(),
        )?))
    }
}

#[async_trait]
impl DedupeBackend for SqliteBackend {
    async fn dedupe(&self, setup: &Setup) -> StoreResult<Arc<dyn DedupeStore<Value>>> {
        Ok(Arc::new(
            CellDedupeStore::new(self.cell(setup).await?, setup.store_clock())
                .with_config(setup.dedupe.clone())?,
        ))
    }
}

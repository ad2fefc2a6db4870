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

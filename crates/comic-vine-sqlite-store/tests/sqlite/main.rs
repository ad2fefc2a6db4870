//! Tests of the SQLite backend on real database files in temporary directories.

mod backend;
mod cell;
mod conformance;
mod files;
mod processes;
mod values;

use std::path::PathBuf;
use std::time::Duration;

use comic_vine_sqlite_store::{SqliteCacheStore, SqliteStore};
use tempfile::TempDir;

/// A new store file `store.db`, created and closed, in a fresh temporary directory
/// (removed when the returned `TempDir` is dropped).
async fn created_store_file() -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    drop(SqliteStore::open(&path).await.unwrap());
    (dir, path)
}

/// A cache on a new `store.db` in a fresh temporary directory whose calls wait at most
/// `busy` for another connection's lock: the directory, the file and the cache.
async fn cache_with_busy_timeout(busy: Duration) -> (TempDir, PathBuf, SqliteCacheStore) {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    let db = SqliteStore::builder(&path)
        .busy_timeout(busy)
        .open()
        .await
        .unwrap();
    let cache = SqliteCacheStore::new(&db);
    (dir, path, cache)
}

//! Bad files are refused with a typed error naming the path, and left as they were.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use comic_vine_sqlite_store::{SqliteCacheStore, SqliteStore};
use comic_vine_store::{CacheStore, StoreError};
use rusqlite::Connection;
use serde_json::json;
use tempfile::TempDir;

/// The path and reason of a `StorageFile` error (panics on any other error).
fn refusal(result: Result<SqliteStore, StoreError>) -> (PathBuf, String) {
    match result {
        Err(StoreError::StorageFile { path, reason, .. }) => (path, reason),
        Err(e) => panic!("expected StorageFile, got {e:?}"),
        Ok(db) => panic!("expected StorageFile, opened {db:?}"),
    }
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Opens `path` expecting a refusal whose reason contains `expected`; checks that the
/// error names the path, that the file is byte-identical afterwards and that nothing
/// was created beside it.
async fn assert_refused_untouched(path: &Path, expected: &str) {
    let before = std::fs::read(path).unwrap();
    let dir = path.parent().unwrap();
    let names = listing(dir);
    let (named, reason) = refusal(SqliteStore::open(path).await);
    assert_eq!(named, path);
    assert!(reason.contains(expected), "{reason}");
    let shown = refusal(SqliteStore::open(path).await);
    assert_eq!(shown.1, reason, "the same answer the second time");
    assert_eq!(std::fs::read(path).unwrap(), before, "file changed");
    assert_eq!(listing(dir), names, "files created beside it");
}

/// Writes the file at `path` by hand (`change` on a raw connection, closed after), then
/// [`assert_refused_untouched`].
async fn assert_refused_after(path: &Path, change: impl FnOnce(&Connection), expected: &str) {
    let raw = Connection::open(path).unwrap();
    change(&raw);
    drop(raw);
    assert_refused_untouched(path, expected).await;
}

#[tokio::test]
async fn a_text_file_is_not_a_database_and_stays_intact() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "my reading list\n".repeat(500)).unwrap();
    assert_refused_untouched(&path, "not an SQLite database").await;
}

#[tokio::test]
async fn random_bytes_are_not_a_database() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("blob.bin");
    let bytes: Vec<u8> = (0..70_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, bytes).unwrap();
    assert_refused_untouched(&path, "not an SQLite database").await;
}

#[tokio::test]
async fn another_applications_database_is_refused_and_untouched() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("library.db");
    let books = "CREATE TABLE books (title TEXT); INSERT INTO books VALUES ('Watchmen');";
    let change = |raw: &Connection| raw.execute_batch(books).unwrap();
    assert_refused_after(&path, change, "another application").await;
}

#[tokio::test]
async fn another_schema_version_is_refused_and_untouched() {
    let (_dir, path) = crate::created_store_file().await;
    let change = |raw: &Connection| {
        raw.pragma_update(None, "user_version", 7).unwrap();
        raw.pragma_update(None, "journal_mode", "DELETE").unwrap();
    };
    assert_refused_after(&path, change, "schema version 7").await;
}

/// A comic-vine-store file of schema `version`, `v<version>.db` in a new temporary
/// directory, made by `sql`: the directory and the file's path.
fn older_file(version: i32, sql: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join(format!("v{version}.db"));
    let raw = Connection::open(&path).unwrap();
    raw.execute_batch(sql).unwrap();
    let app = comic_vine_sqlite_store::APPLICATION_ID;
    raw.pragma_update(None, "application_id", app).unwrap();
    raw.pragma_update(None, "user_version", version).unwrap();
    drop(raw);
    (dir, path)
}

#[tokio::test]
async fn a_schema_version_1_file_is_refused_with_a_hint_and_untouched() {
    // The schema version 1 wrote: cache rows without freshness times.
    let (_dir, path) = older_file(
        1,
        "CREATE TABLE cache_entries (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL,
             expires_at INTEGER NOT NULL);
         INSERT INTO cache_entries VALUES ('k', CAST('1' AS BLOB), 99999999999999);",
    );
    assert_refused_untouched(&path, "older schema version 1").await;
    let (_, reason) = refusal(SqliteStore::open(&path).await);
    assert!(reason.contains("delete the file"), "{reason}");
}

#[tokio::test]
async fn a_schema_version_2_file_is_migrated_and_its_entries_still_read() {
    // The schema version 2 wrote: cache rows with times, no metadata column.
    let (_dir, path) = older_file(
        2,
        "CREATE TABLE cache_entries (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL,
             stored_at INTEGER NOT NULL, fresh_until INTEGER NOT NULL,
             expires_at INTEGER NOT NULL);
         CREATE INDEX cache_entries_expiry ON cache_entries (expires_at);
         CREATE TABLE states (kind TEXT NOT NULL, key TEXT NOT NULL, state BLOB NOT NULL,
             expires_at INTEGER NOT NULL, PRIMARY KEY (kind, key));
         CREATE INDEX states_expiry ON states (expires_at);
         INSERT INTO cache_entries
             VALUES ('k', CAST('{\"v\":2}' AS BLOB), 1000, 99999999999998, 99999999999999);",
    );

    let db = SqliteStore::open(&path).await.unwrap();
    let cache: SqliteCacheStore = SqliteCacheStore::new(&db);
    let entry = cache.get_entry("k").await.unwrap().unwrap();
    assert_eq!((entry.value, entry.meta), (json!({"v": 2}), None));
    let meta = json!({"etag": "\"v2\""});
    let fresh = comic_vine_store::Freshness::fresh_for(Some(Duration::from_secs(60)));
    assert!(cache.touch_with_meta("k", fresh, &meta).await.unwrap());
    assert_eq!(
        cache.get_entry("k").await.unwrap().unwrap().meta,
        Some(meta)
    );
    drop((cache, db));
    let raw = Connection::open(&path).unwrap();
    let version: i32 = raw
        .query_row("SELECT user_version FROM pragma_user_version", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(version, comic_vine_sqlite_store::SCHEMA_VERSION);
    assert_eq!(version, 3);
    assert_old_release_set_drops_meta(&path, "k").await;
}

/// What a process of the version-2 release, with the file still open, does on a `set`:
/// the upsert of that release, which does not know the `meta` column.
fn old_release_set(path: &Path, key: &str, json: &str) {
    let raw = Connection::open(path).unwrap();
    raw.execute(
        "INSERT INTO cache_entries (key, value, stored_at, fresh_until, expires_at)
         VALUES (?1, CAST(?2 AS BLOB), 2000, 99999999999998, 99999999999999)
         ON CONFLICT (key) DO UPDATE
         SET value = excluded.value, stored_at = excluded.stored_at,
             fresh_until = excluded.fresh_until, expires_at = excluded.expires_at",
        (key, json),
    )
    .unwrap();
}

/// `key` holds metadata; after an old release's `set` of a new value, the entry reads
/// the new value without the metadata that belonged to the old one.
async fn assert_old_release_set_drops_meta(path: &Path, key: &str) {
    let db = SqliteStore::open(path).await.unwrap();
    let cache: SqliteCacheStore = SqliteCacheStore::new(&db);
    let before = cache.get_entry(key).await.unwrap().unwrap();
    assert!(before.meta.is_some(), "{before:?}");
    old_release_set(path, key, r#"{"v":3}"#);
    let after = cache.get_entry(key).await.unwrap().unwrap();
    assert_eq!((after.value, after.meta), (json!({"v": 3}), None));
}

#[tokio::test]
async fn a_new_value_from_an_older_release_drops_the_metadata_of_the_old_one() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("v3.db");
    let db = SqliteStore::open(&path).await.unwrap();
    let cache: SqliteCacheStore = SqliteCacheStore::new(&db);
    let fresh = comic_vine_store::Freshness::fresh_for(Some(Duration::from_secs(60)));
    cache.set("k", &json!({"v": 1}), None).await.unwrap();
    assert!(
        cache
            .touch_with_meta("k", fresh, &json!({"etag": "1"}))
            .await
            .unwrap()
    );
    // This release's own touch keeps it, and its own set clears it.
    assert!(cache.touch("k", fresh).await.unwrap());
    assert_eq!(
        cache.get_entry("k").await.unwrap().unwrap().meta,
        Some(json!({"etag": "1"}))
    );
    assert_old_release_set_drops_meta(&path, "k").await;
}

#[tokio::test]
async fn a_directory_is_refused_and_nothing_is_created_in_it() {
    let dir = TempDir::new().unwrap();
    let (named, reason) = refusal(SqliteStore::open(dir.path()).await);
    assert_eq!(named, dir.path());
    assert!(reason.contains("directory"), "{reason}");
    assert!(listing(dir.path()).is_empty());
}

#[tokio::test]
async fn a_missing_parent_directory_is_a_typed_error() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("no-such-dir").join("store.db");
    let (named, reason) = refusal(SqliteStore::open(&path).await);
    assert_eq!(named, path);
    assert!(reason.contains("cannot open"), "{reason}");
}

#[tokio::test]
async fn an_empty_file_becomes_a_database_and_reopens() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("touched.db");
    std::fs::write(&path, b"").unwrap();
    let cache: SqliteCacheStore = SqliteCacheStore::new(&SqliteStore::open(&path).await.unwrap());
    cache.set("k", &json!(1), None).await.unwrap();
    drop(cache);
    let cache: SqliteCacheStore = SqliteCacheStore::new(&SqliteStore::open(&path).await.unwrap());
    assert_eq!(cache.get("k").await.unwrap(), Some(json!(1)));
}

#[tokio::test]
async fn processes_creating_one_file_at_once_all_succeed() {
    // Many rounds: an opener that reads the header while another creates the schema
    // must see all of it or none (a torn read refused the file as another app's).
    let dir = TempDir::new().unwrap();
    for round in 0..48 {
        let path = dir.path().join(format!("race-{round}.db"));
        let opens: Vec<_> = (0..8)
            .map(|_| tokio::spawn(SqliteStore::open(path.clone())))
            .collect();
        for open in opens {
            open.await.unwrap().unwrap();
        }
    }
}

/// A connection of another process holding the database exclusively (rollback
/// journal, exclusive locking mode) past the busy timeout.
fn exclusive_holder(path: &Path) -> Connection {
    let raw = Connection::open(path).unwrap();
    raw.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;")
        .unwrap();
    raw
}

#[tokio::test]
async fn a_database_locked_past_the_busy_timeout_is_refused_at_open() {
    let (_dir, path) = crate::created_store_file().await;
    let holder = exclusive_holder(&path);
    let open = SqliteStore::builder(&path)
        .busy_timeout(Duration::from_millis(100))
        .open()
        .await;
    let (named, reason) = refusal(open);
    assert_eq!(named, path);
    assert!(reason.contains("locked"), "{reason}");
    assert!(reason.contains("100ms"), "{reason}");
    drop(holder);
    SqliteStore::open(&path).await.unwrap();
}

#[tokio::test]
async fn a_write_locked_past_the_busy_timeout_fails_and_keeps_the_old_value() {
    let (_dir, path, cache) = crate::cache_with_busy_timeout(Duration::from_millis(100)).await;
    cache.set("k", &json!("old"), None).await.unwrap();
    let writer = Connection::open(&path).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    match cache.set("k", &json!("new"), None).await {
        Err(StoreError::StorageFile {
            path: p, reason, ..
        }) => {
            assert_eq!(p, path);
            assert!(reason.contains("locked"), "{reason}");
        }
        other => panic!("expected a lock error, got {other:?}"),
    }
    // WAL: reads go on beside the other process's write lock.
    assert_eq!(cache.get("k").await.unwrap(), Some(json!("old")));
    writer.execute_batch("COMMIT").unwrap();
    cache.set("k", &json!("new"), None).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), Some(json!("new")));
}

const READ_ONLY_PATH: &str = "SQLITE_READ_ONLY_PATH";

/// Run as an unprivileged child by `a_read_only_file_is_refused`.
#[tokio::test]
#[ignore = "run as a child process by a_read_only_file_is_refused"]
async fn read_only_child() {
    let path = PathBuf::from(std::env::var(READ_ONLY_PATH).expect("path"));
    assert_read_only_refused(&path).await;
}

async fn assert_read_only_refused(path: &Path) {
    let before = std::fs::read(path).unwrap();
    let (named, reason) = refusal(SqliteStore::open(path).await);
    assert_eq!(named, path);
    assert!(reason.contains("read-only"), "{reason}");
    assert_eq!(std::fs::read(path).unwrap(), before);
}

#[tokio::test]
async fn a_read_only_file_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    let db = SqliteStore::open(&path).await.unwrap();
    SqliteCacheStore::<serde_json::Value>::new(&db)
        .set("k", &json!(1), None)
        .await
        .unwrap();
    drop(db);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    if std::fs::OpenOptions::new().write(true).open(&path).is_err() {
        return assert_read_only_refused(&path).await;
    }
    // This process may write read-only files (root): ask an unprivileged one.
    use std::os::unix::process::CommandExt;
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "files::read_only_child",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(READ_ONLY_PATH, &path)
        .uid(65_534)
        .gid(65_534)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}

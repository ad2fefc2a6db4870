//! [`SqliteStore`]: an open database file, from which every store is made.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use comic_vine_store::clock::{SharedClock, SystemClock};
use comic_vine_store::{CacheConfig, StoreError, StoreResult};
use rusqlite::Connection;

use crate::error::{self, DbResult};
use crate::schema;

/// The busy timeout when none is set: how long a call waits for another connection's
/// write lock before it fails.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One open comic-vine-store database: the handle the stores are built from, like
/// the DynamoDB backend's `Table`. Cheap to clone; clones and the stores made from
/// them share one connection.
///
/// Every SQLite call runs on Tokio's blocking pool ([`tokio::task::spawn_blocking`]),
/// never on an async worker. The connection is behind a mutex, so this process sends
/// the database one statement at a time: SQLite admits one writer per file anyway,
/// a single connection cannot deadlock with itself on lock upgrades, and the limits
/// this backend serves (hundreds of requests per hour) are far below what one
/// connection does. Other processes use their own handles on the same file; WAL mode
/// lets their reads run beside a write, and the busy timeout makes them queue for
/// the write lock.
///
/// ```no_run
/// use comic_vine_sqlite_store::{SqliteCacheStore, SqliteStore};
///
/// # async fn example() -> comic_vine_store::StoreResult<()> {
/// let db = SqliteStore::open("comic-vine.db").await?;
/// let cache: SqliteCacheStore = SqliteCacheStore::new(&db);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    busy_timeout: Duration,
    cache: CacheConfig,
    clock: SharedClock,
    conn: Mutex<Connection>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("busy_timeout", &self.inner.busy_timeout)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `path` with the default settings, creating it (and its
    /// schema) if the file does not exist. See [`SqliteStoreBuilder::open`].
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::builder(path).open().await
    }

    /// A builder for the database at `path`.
    pub fn builder(path: impl AsRef<Path>) -> SqliteStoreBuilder {
        SqliteStoreBuilder {
            path: path.as_ref().to_owned(),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            cache: CacheConfig::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// How long a call waits for another connection's lock.
    pub fn busy_timeout(&self) -> Duration {
        self.inner.busy_timeout
    }

    /// The cache settings stores made from this handle start with.
    pub fn cache_config(&self) -> &CacheConfig {
        &self.inner.cache
    }

    /// The clock stores made from this handle start with.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// Runs `f` on the connection on the blocking pool; SQLite failures become
    /// [`StoreError`]s naming the file and `operation`.
    pub(crate) async fn call<T, F>(&self, operation: &'static str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> DbResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let span = tracing::debug_span!("sqlite", operation);
        let result = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = lock(&inner.conn);
            f(&mut conn).map_err(|e| error::map(&inner.path, inner.busy_timeout, operation, e))
        })
        .await
        .map_err(|e| StoreError::backend(format!("SQLite `{operation}` did not finish"), e))
        .and_then(|r| r);
        metrics::counter!("comic_vine_sqlite_operations_total", "operation" => operation)
            .increment(1);
        if let Err(e) = &result {
            tracing::debug!(operation, error = %e, "SQLite call failed");
            metrics::counter!("comic_vine_sqlite_errors_total",
                "operation" => operation, "kind" => e.kind())
            .increment(1);
        }
        result
    }
}

/// Locks the connection, recovering it if a panicking call poisoned the mutex (a
/// transaction left open by a panic is rolled back when it is dropped).
fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Settings of a [`SqliteStore`], then [`open`](Self::open).
#[derive(Clone, Debug)]
pub struct SqliteStoreBuilder {
    path: PathBuf,
    busy_timeout: Duration,
    cache: CacheConfig,
    clock: SharedClock,
}

impl SqliteStoreBuilder {
    /// How long a call waits for another connection's write lock before it fails
    /// with [`StoreError::StorageFile`] (default [`DEFAULT_BUSY_TIMEOUT`]).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Cache settings for the cache stores made from the handle (validated on open).
    pub fn cache(mut self, config: CacheConfig) -> Self {
        self.cache = config;
        self
    }

    /// The clock the stores read time from (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Opens the database, creating the file and its schema if the file does not
    /// exist or is empty. Fails with [`StoreError::StorageFile`] naming the path, and
    /// without writing to the file, if it is a directory, not an SQLite database,
    /// another application's database, of another schema version, read-only, or
    /// locked past the busy timeout.
    pub async fn open(self) -> StoreResult<SqliteStore> {
        self.cache.validate()?;
        let Self {
            path,
            busy_timeout,
            cache,
            clock,
        } = self;
        let opened = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || schema::open(&path, busy_timeout))
                .await
                .map_err(|e| StoreError::backend("opening the SQLite database did not finish", e))?
        }?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                busy_timeout,
                cache,
                clock,
                conn: Mutex::new(opened),
            }),
        })
    }
}

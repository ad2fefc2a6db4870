//! Opening a database file: refusing files that are not ours, creating the schema in
//! an empty one, and the connection settings (WAL, busy timeout, full sync).

use std::path::Path;
use std::time::Duration;

use comic_vine_store::StoreError;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{self, Failure, file_error};

/// `PRAGMA application_id` of a comic-vine-store database ("CVST").
pub const APPLICATION_ID: i32 = 0x4356_5354;

/// `PRAGMA user_version` of the schema this version reads and writes. Version 2 added
/// each cache entry's times (`stored_at`, `fresh_until`); `expires_at` is the end of
/// its stale horizon. Version 3 added `meta`, the entry's metadata (JSON, or NULL);
/// a version 2 file is migrated when opened (one `ALTER TABLE`).
pub const SCHEMA_VERSION: i32 = 3;

/// The schema version [`MIGRATE_FROM_2`] upgrades.
const MIGRATABLE_VERSION: i32 = 2;

/// Version 2 to 3: the metadata column, NULL on every existing row (then [`META_TRIGGER`]).
const MIGRATE_FROM_2: &str = "ALTER TABLE cache_entries ADD COLUMN meta BLOB;";

/// A new value drops the metadata laid over the old one, whoever writes it: this
/// version's `set` clears it itself, but a process of the version-2 release that still
/// has the file open writes the value alone (its upsert does not know the column).
const META_TRIGGER: &str = "
CREATE TRIGGER cache_entries_value_drops_meta AFTER UPDATE OF value ON cache_entries
WHEN NEW.meta IS NOT NULL
BEGIN
    UPDATE cache_entries SET meta = NULL WHERE key = NEW.key;
END;
";

const SCHEMA: &str = "
CREATE TABLE cache_entries (
    key TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL,
    stored_at INTEGER NOT NULL,
    fresh_until INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    meta BLOB
);
CREATE INDEX cache_entries_expiry ON cache_entries (expires_at);
CREATE TABLE states (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    state BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX states_expiry ON states (expires_at);
";

/// What the file's header and catalogue say it is.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// No tables and no application id: ours to initialise.
    Empty,
    /// Ours, at this schema version.
    Current,
    /// Ours, at the previous schema version, which opening migrates.
    Migratable,
    /// Ours, at another schema version.
    OtherVersion(i32),
    /// Another application's database.
    Foreign { application_id: i32, tables: i64 },
}

/// Reads the header without writing anything, in one statement: one read snapshot, so
/// a schema another process is creating is seen whole or not at all (three separate
/// reads could see its tables but not yet its application id).
fn inspect(conn: &Connection) -> rusqlite::Result<Kind> {
    let (app, version, tables): (i32, i32, i64) = conn.query_row(
        "SELECT (SELECT application_id FROM pragma_application_id),
                (SELECT user_version FROM pragma_user_version),
                (SELECT count(*) FROM sqlite_schema)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(match (app, version) {
        (APPLICATION_ID, SCHEMA_VERSION) => Kind::Current,
        (APPLICATION_ID, MIGRATABLE_VERSION) => Kind::Migratable,
        (APPLICATION_ID, v) => Kind::OtherVersion(v),
        (0, 0) if tables == 0 => Kind::Empty,
        (application_id, _) => Kind::Foreign {
            application_id,
            tables,
        },
    })
}

/// Opens (creating if absent) the database at `path` and makes sure it holds this
/// version's schema. Never writes to a file that is not a comic-vine-store database
/// or an empty one.
pub(crate) fn open(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    let map = |op: &str, e: rusqlite::Error| error::map(path, busy_timeout, op, Failure::Sql(e));
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(file_error(
                path,
                "is a directory, not a database file",
                None,
            ));
        }
        Ok(meta) if !meta.is_file() => {
            return Err(file_error(path, "is not a regular file", None));
        }
        _ => {}
    }
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if !path.exists() {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| map("open", e))?;
    conn.busy_timeout(busy_timeout)
        .map_err(|e| map("busy_timeout", e))?;
    if conn
        .is_readonly(rusqlite::MAIN_DB)
        .map_err(|e| map("open", e))?
    {
        return Err(file_error(
            path,
            "is read-only (the file or its directory is not writable by this process)",
            None,
        ));
    }
    accept(path, inspect(&conn).map_err(|e| map("inspect", e))?)?;
    let mode = wal_mode(&conn, busy_timeout).map_err(|e| map("journal_mode", e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(file_error(
            path,
            format!("cannot use write-ahead logging (journal mode stayed `{mode}`)"),
            None,
        ));
    }
    conn.execute_batch("PRAGMA synchronous = FULL")
        .map_err(|e| map("synchronous", e))?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| map("create schema", e))?;
    // Another process may have initialised or migrated the file since `inspect`.
    match accept(path, inspect(&tx).map_err(|e| map("inspect", e))?)? {
        Setup::Create => {
            tx.execute_batch(SCHEMA)
                .and_then(|()| tx.execute_batch(META_TRIGGER))
                .and_then(|()| tx.pragma_update(None, "application_id", APPLICATION_ID))
                .and_then(|()| tx.pragma_update(None, "user_version", SCHEMA_VERSION))
                .map_err(|e| map("create schema", e))?;
            tracing::info!(path = %path.display(), "created comic-vine-store database");
        }
        Setup::Migrate => {
            tx.execute_batch(MIGRATE_FROM_2)
                .and_then(|()| tx.execute_batch(META_TRIGGER))
                .and_then(|()| tx.pragma_update(None, "user_version", SCHEMA_VERSION))
                .map_err(|e| map("migrate schema", e))?;
            tracing::info!(
                path = %path.display(),
                from = MIGRATABLE_VERSION,
                to = SCHEMA_VERSION,
                "migrated comic-vine-store database"
            );
        }
        Setup::Ready => {}
    }
    tx.commit().map_err(|e| map("create schema", e))?;
    Ok(conn)
}

/// Switches to write-ahead logging and returns the journal mode in effect. SQLite does
/// not call the busy handler for this switch (it needs the file to itself), so a busy
/// answer while other connections open the same new file is retried until the busy
/// timeout has passed.
fn wal_mode(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<String> {
    let start = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && start.elapsed() < busy_timeout =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// What opening a file accepted as ours does to it.
enum Setup {
    /// Create the schema (an empty file).
    Create,
    /// Migrate it from the previous schema version.
    Migrate,
    /// Nothing: it is at this version.
    Ready,
}

/// What to do with the file; an error if it is not ours (or of a version this one
/// neither reads nor migrates).
fn accept(path: &Path, kind: Kind) -> Result<Setup, StoreError> {
    let reason = match kind {
        Kind::Empty => return Ok(Setup::Create),
        Kind::Current => return Ok(Setup::Ready),
        Kind::Migratable => return Ok(Setup::Migrate),
        Kind::OtherVersion(v) if v < SCHEMA_VERSION => format!(
            "comic-vine-store database of the older schema version {v} (cache entries \
             without freshness times); this version reads schema version \
             {SCHEMA_VERSION} and migrates {MIGRATABLE_VERSION}: delete the file (it holds \
             only a cache and limiter state) or keep using the older version with it"
        ),
        Kind::OtherVersion(v) => format!(
            "comic-vine-store database of schema version {v}; this version reads only \
             schema version {SCHEMA_VERSION} (and migrates {MIGRATABLE_VERSION})"
        ),
        Kind::Foreign {
            application_id,
            tables,
        } => format!(
            "an SQLite database of another application (application_id {application_id:#x}, \
             {tables} schema objects), not a comic-vine-store database"
        ),
    };
    Err(file_error(path, reason, None))
}

//! SQLite failures as [`StoreError`]s that name the database file.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use comic_vine_store::StoreError;
use comic_vine_store::error::SharedError;
use rusqlite::ErrorCode;

/// What a blocking database call fails with: an SQLite error (mapped to a
/// [`StoreError`] naming the file by the handle) or a store error as it is.
#[derive(Debug)]
pub(crate) enum Failure {
    Sql(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// The result of a blocking database call.
pub(crate) type DbResult<T> = Result<T, Failure>;

/// A [`StoreError::StorageFile`] for `path`.
pub(crate) fn file_error(
    path: &Path,
    reason: impl Into<String>,
    source: Option<rusqlite::Error>,
) -> StoreError {
    StoreError::StorageFile {
        path: path.to_owned(),
        reason: reason.into(),
        source: source.map(|e| Arc::new(e) as SharedError),
    }
}

/// Maps a failure of `operation` on the database at `path` to a [`StoreError`]:
/// problems of the file itself (locked, read-only, not a database, corrupt, full)
/// become [`StoreError::StorageFile`], anything else [`StoreError::Backend`].
pub(crate) fn map(path: &Path, busy_timeout: Duration, operation: &str, f: Failure) -> StoreError {
    let e = match f {
        Failure::Store(e) => return e,
        Failure::Sql(e) => e,
    };
    let reason = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => format!(
            "database is locked: another connection held it past the busy timeout of \
             {busy_timeout:?} ({operation})"
        ),
        Some(ErrorCode::ReadOnly) => format!("database is read-only ({operation})"),
        Some(ErrorCode::NotADatabase) => "not an SQLite database".to_owned(),
        Some(ErrorCode::DatabaseCorrupt) => "the database file is corrupt".to_owned(),
        Some(ErrorCode::CannotOpen) => "cannot open the database file".to_owned(),
        Some(ErrorCode::PermissionDenied) => "permission denied".to_owned(),
        Some(ErrorCode::DiskFull) => "the disk is full".to_owned(),
        Some(ErrorCode::SystemIoFailure) => format!("I/O error ({operation})"),
        _ => {
            return StoreError::Backend {
                message: format!("SQLite `{operation}` on `{}` failed", path.display()),
                source: Some(Arc::new(e)),
            };
        }
    };
    file_error(path, reason, Some(e))
}

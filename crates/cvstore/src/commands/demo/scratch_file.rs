//! The SQLite file the demo writes into: by default a new one in the temporary
//! directory (`cvstore-demo-<random>.db`), deleted afterwards unless `--keep`, so the
//! demo never writes into the file the global `--store sqlite:PATH` names; an existing
//! database only when named with `--into-file`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use comic_vine_sqlite_store::SqliteStore;

/// The database file of one demo run.
pub struct RunFile {
    path: PathBuf,
    /// Whether this run created it (and deletes it unless `--keep`).
    created: bool,
    keep: bool,
}

impl RunFile {
    /// `into` (an existing comic-vine-store database, never created), or a new file
    /// in the temporary directory.
    ///
    /// # Errors
    ///
    /// `into` missing or not a comic-vine-store database; the new file cannot be made.
    pub async fn open(into: Option<&Path>, keep: bool) -> anyhow::Result<Self> {
        if let Some(path) = into {
            if !path.is_file() {
                bail!(
                    "`{}` is not an existing file; --into-file writes only into an existing \
                     database (leave it out for a file of the run's own)",
                    path.display()
                );
            }
            drop(SqliteStore::open(path).await?);
            eprintln!("writing into the existing database `{}`", path.display());
            return Ok(Self {
                path: path.to_owned(),
                created: false,
                keep: true,
            });
        }
        let path =
            std::env::temp_dir().join(format!("cvstore-demo-{:012x}.db", fastrand::u64(..) >> 16));
        // `create_new`: never an existing file; an empty file gets its schema on open.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("creating `{}` for the demo", path.display()))?;
        let file = Self {
            path,
            created: true,
            keep,
        };
        if let Err(e) = SqliteStore::open(&file.path).await {
            let _ = file.delete();
            return Err(e.into());
        }
        eprintln!("created database `{}` for the demo", file.path.display());
        Ok(file)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file stays after the run.
    pub fn kept(&self) -> bool {
        !self.created || self.keep
    }

    /// Ends the run whose outcome is `result`: deletes the file (and SQLite's `-wal`
    /// and `-shm` files beside it) if this run created it and `--keep` was not given,
    /// also after a failed run; returns `result`, or else the failure to delete.
    pub fn finish<T>(self, result: anyhow::Result<T>) -> anyhow::Result<T> {
        let deleted = if self.kept() {
            if self.created {
                eprintln!("kept database `{}` (--keep)", self.path.display());
            }
            Ok(())
        } else {
            self.delete()
                .with_context(|| format!("deleting `{}`", self.path.display()))
                .inspect(|()| eprintln!("deleted database `{}`", self.path.display()))
        };
        let value = result?;
        deleted?;
        Ok(value)
    }

    /// Removes the file and SQLite's files beside it (those may not exist).
    fn delete(&self) -> std::io::Result<()> {
        let mut first = Ok(());
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.path.clone().into_os_string();
            name.push(suffix);
            match std::fs::remove_file(PathBuf::from(name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound && first.is_ok() => {
                    first = Err(e)
                }
                _ => {}
            }
        }
        first
    }
}

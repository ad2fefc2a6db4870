//! SQLite backend for the `comic-vine-store` traits: one database file shared by
//! every process on one host, so a single-host tool (a library manager, a tagger, a
//! CLI run from cron) keeps Comic Vine's 200-per-hour budget across restarts and
//! across its processes, without DynamoDB.
//!
//! - [`SqliteStore`]: the open file (WAL mode, a busy timeout, full sync), from which
//!   the stores are made; every SQLite call runs on Tokio's blocking pool.
//! - [`SqliteCacheStore`]: the response cache, values up to
//!   [`MAX_VALUE_BYTES`](comic_vine_store::MAX_VALUE_BYTES).
//! - [`SqliteStateCell`]: the core's atomic state cell (one `BEGIN IMMEDIATE`
//!   transaction per update), over which the core implements the rate-limit,
//!   adaptive and dedupe stores.
//! - A file of the previous schema version (2) is migrated when opened; one that is not
//!   a comic-vine-store database (or is of another schema version, read-only, locked, a
//!   directory) is refused with
//!   [`StoreError::StorageFile`](comic_vine_store::StoreError::StorageFile) naming the
//!   path, and left as it was.

#![warn(missing_docs)]

mod cache;
mod cell;
mod error;
mod handle;
mod schema;

pub use cache::SqliteCacheStore;
pub use cell::SqliteStateCell;
pub use handle::{DEFAULT_BUSY_TIMEOUT, SqliteStore, SqliteStoreBuilder};
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};

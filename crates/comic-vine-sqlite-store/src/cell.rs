//! [`SqliteStateCell`]: the core's [`StateCell`] on one row of the `states` table.
//!
//! An update is one `BEGIN IMMEDIATE` transaction: it takes the database's write lock
//! (waiting up to the busy timeout for another process's), loads the row, runs the
//! transition and writes its change, then commits. Nobody can write in between, so
//! there is never a conflict to retry, and a commit either lands whole or not at all:
//! the effect is stored exactly once. A transition that fails rolls the transaction
//! back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use comic_vine_store::StoreResult;
use comic_vine_store::cell::{Change, StateCell, StateKind, Transition};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::cache::millis;
use crate::handle::SqliteStore;

/// Every this many updates through one cell, expired states are deleted.
const PURGE_EVERY: u64 = 256;

/// A [`StateCell`] in a SQLite database file, shared by every process that opens it.
#[derive(Clone, Debug)]
pub struct SqliteStateCell {
    db: SqliteStore,
    updates: Arc<AtomicU64>,
}

impl SqliteStateCell {
    /// A cell in `db`.
    pub fn new(db: &SqliteStore) -> Self {
        Self {
            db: db.clone(),
            updates: Arc::default(),
        }
    }

    /// Deletes the states whose expiry (by the handle's clock) has passed; returns how
    /// many. Updates do this on their own every few hundred calls.
    pub async fn purge_expired(&self) -> StoreResult<u64> {
        let now = millis(self.db.clock().now());
        self.db
            .call("state.purge", move |c| {
                Ok(c.execute("DELETE FROM states WHERE expires_at < ?1", [now])? as u64)
            })
            .await
    }
}

#[async_trait]
impl StateCell for SqliteStateCell {
    async fn update(&self, kind: StateKind, key: &str, transition: Transition) -> StoreResult<()> {
        let key = key.to_owned();
        let purge_at = (self.updates.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY
            == PURGE_EVERY - 1)
            .then(|| millis(self.db.clock().now()));
        self.db
            .call("state.update", move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let state: Option<Vec<u8>> = tx
                    .prepare_cached("SELECT state FROM states WHERE kind = ?1 AND key = ?2")?
                    .query_row(params![kind.as_str(), key], |r| r.get(0))
                    .optional()?;
                if let Change::Put { state, expires_at } = transition(state.as_deref())? {
                    tx.prepare_cached(
                        "INSERT INTO states (kind, key, state, expires_at) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (kind, key) DO UPDATE
                         SET state = excluded.state, expires_at = excluded.expires_at",
                    )?
                    .execute(params![
                        kind.as_str(),
                        key,
                        state,
                        millis(expires_at)
                    ])?;
                }
                if let Some(now) = purge_at {
                    tx.execute("DELETE FROM states WHERE expires_at < ?1", [now])?;
                }
                tx.commit()?;
                Ok(())
            })
            .await
    }

    async fn load(&self, kind: StateKind, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let key = key.to_owned();
        self.db
            .call("state.load", move |c| {
                Ok(
                    c.prepare_cached("SELECT state FROM states WHERE kind = ?1 AND key = ?2")?
                        .query_row(params![kind.as_str(), key], |r| r.get(0))
                        .optional()?,
                )
            })
            .await
    }

    async fn remove(&self, kind: StateKind, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.db
            .call("state.remove", move |c| {
                c.prepare_cached("DELETE FROM states WHERE kind = ?1 AND key = ?2")?
                    .execute(params![kind.as_str(), key])?;
                Ok(())
            })
            .await
    }
}

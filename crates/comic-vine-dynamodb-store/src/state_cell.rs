//! [`DynamoDbStateCell`]: the core's [`StateCell`] on DynamoDB, one [`CasCell`] per
//! state kind.
//!
//! The encoded state (the core's `cell::encoding`) is kept in one binary attribute of
//! the kind's item; the cas cell adds the version token, recent tokens and TTL. So the
//! costs stay the cas cell's: a decision that writes is one conditional PutItem
//! (shared by every concurrent caller of the process: group commit), a decision that
//! keeps on a known state sends nothing, a lost race is retried on the item DynamoDB
//! returned, and a write whose answer was lost is recognised by its token.

use std::sync::Arc;

use async_trait::async_trait;
use comic_vine_store::cell::{Change, StateCell, StateKind, Transition};
use comic_vine_store::clock::SharedClock;
use comic_vine_store::{StoreError, StoreResult, Timestamp};

use crate::cas::{CasCell, CasState};
use crate::handle::Table;
use crate::item::{self, Fields, Item};
use crate::keys;
use crate::metrics::Metrics;

use crate::attributes::state::STATE;

/// An encoded state as the cas cell stores it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Blob {
    bytes: Option<Vec<u8>>,
    /// When the item may expire (set by the transition that wrote it).
    expires_at: Timestamp,
}

impl CasState for Blob {
    fn encode(&self, item: &mut Item) {
        if let Some(bytes) = &self.bytes {
            item.insert(STATE.to_owned(), item::b(bytes.clone()));
        }
    }

    fn decode(item: &Item, what: &str) -> StoreResult<Self> {
        let bytes = Fields::new(item, what).opt_b(STATE)?.map(<[u8]>::to_vec);
        Ok(Self {
            bytes,
            expires_at: Timestamp::EPOCH,
        })
    }

    fn expires_at(&self, now: Timestamp) -> Timestamp {
        self.expires_at.max(now)
    }
}

type Cell = CasCell<Blob, Transition, StoreResult<()>>;

/// The core's state cell on one table (window and adaptive states).
pub(crate) struct DynamoDbStateCell {
    window: Cell,
    adaptive: Cell,
}

impl DynamoDbStateCell {
    pub(crate) fn new(table: &Table, metrics: &Arc<Metrics>, clock: &SharedClock) -> Self {
        let cell = |key| {
            CasCell::new(
                table.clone(),
                Arc::clone(metrics),
                Arc::clone(clock),
                key,
                Arc::new(
                    |_: &str, s: &Blob, t: &Transition, _| match t(s.bytes.as_deref()) {
                        Ok(Change::Keep) => (Ok(()), None),
                        Ok(Change::Put { state, expires_at }) => (
                            Ok(()),
                            Some(Blob {
                                bytes: Some(state),
                                expires_at,
                            }),
                        ),
                        Err(e) => (Err(e), None),
                    },
                ),
            )
        };
        Self {
            window: cell(keys::rate_limit_state),
            adaptive: cell(keys::adaptive_state),
        }
    }

    fn cell(&self, kind: StateKind) -> StoreResult<&Cell> {
        match kind {
            StateKind::Window => Ok(&self.window),
            StateKind::Adaptive => Ok(&self.adaptive),
            other => Err(StoreError::Backend {
                message: format!(
                    "{} states are not kept in the DynamoDB state cell",
                    other.as_str()
                ),
                source: None,
            }),
        }
    }
}

#[async_trait]
impl StateCell for DynamoDbStateCell {
    async fn update(&self, kind: StateKind, key: &str, transition: Transition) -> StoreResult<()> {
        self.cell(kind)?.update(key, transition).await?
    }

    async fn load(&self, kind: StateKind, key: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.cell(kind)?.read(key).await?.bytes)
    }

    async fn remove(&self, kind: StateKind, key: &str) -> StoreResult<()> {
        self.cell(kind)?.remove(key).await
    }
}

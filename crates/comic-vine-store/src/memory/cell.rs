//! [`MemoryCell`]: the [`StateCell`] of the in-memory stores, one mutex over a map.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use tokio::sync::watch;

use super::lock;
use crate::cell::{Change, StateCell, StateKind, Transition};
use crate::error::StoreResult;

/// Encoded states in a map under one mutex: every transition runs under the lock, so
/// updates are atomic and never conflict. Expiry hints are ignored (states are kept
/// until removed, as the in-memory stores always did).
#[derive(Debug)]
pub struct MemoryCell {
    states: Mutex<HashMap<(StateKind, String), Vec<u8>>>,
    changed: watch::Sender<u64>,
}

impl Default for MemoryCell {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryCell {
    /// An empty cell.
    pub fn new() -> Self {
        Self {
            states: Mutex::default(),
            changed: watch::channel(0).0,
        }
    }

    fn notify(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[async_trait]
impl StateCell for MemoryCell {
    async fn update(&self, kind: StateKind, key: &str, transition: Transition) -> StoreResult<()> {
        let changed = {
            let mut states = lock(&self.states);
            let id = (kind, key.to_owned());
            match transition(states.get(&id).map(Vec::as_slice))? {
                Change::Keep => false,
                Change::Put { state, .. } => {
                    states.insert(id, state);
                    true
                }
            }
        };
        if changed {
            self.notify();
        }
        Ok(())
    }

    async fn load(&self, kind: StateKind, key: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(lock(&self.states).get(&(kind, key.to_owned())).cloned())
    }

    async fn remove(&self, kind: StateKind, key: &str) -> StoreResult<()> {
        let removed = lock(&self.states).remove(&(kind, key.to_owned())).is_some();
        if removed {
            self.notify();
        }
        Ok(())
    }

    fn changes(&self) -> Option<watch::Receiver<u64>> {
        Some(self.changed.subscribe())
    }
}

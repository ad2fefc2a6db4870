//! In-memory stores: the embedded default and the reference behaviour.
//!
//! Exact and atomic within one process (every operation holds a lock for its whole
//! read-decide-write step); state is shared between clones of a store and between
//! handles made with `with_clock`. Values are kept serialized as JSON, exactly as a
//! remote backend would keep them, so serialization behaves the same everywhere.

mod adaptive;
mod cache;
mod dedupe;
mod rate_limit;

pub use adaptive::MemoryAdaptiveRateLimitStore;
pub use cache::{MemoryCacheStore, MemoryCacheStoreBuilder};
pub use dedupe::MemoryDedupeStore;
pub use rate_limit::MemoryRateLimitStore;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::clock::Timestamp;
use crate::error::StoreResult;
use crate::validate;

/// Locks a mutex, recovering the data if a panicking thread poisoned it (every
/// critical section here leaves the data consistent before it can panic).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One state per resource under one lock: the in-memory counterpart of a conditional
/// write. Clones share the states.
#[derive(Debug)]
struct Keyed<S>(Arc<Mutex<HashMap<String, S>>>);

impl<S> Clone for Keyed<S> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<S> Default for Keyed<S> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<S: Clone + Default> Keyed<S> {
    /// Runs `f` on the state of `resource` (the default if none) at `now` under the
    /// lock, storing the new state it returns.
    fn update<T>(
        &self,
        resource: &str,
        now: Timestamp,
        f: impl FnOnce(&S, Timestamp) -> (T, Option<S>),
    ) -> StoreResult<T> {
        validate::resource(resource)?;
        let mut states = lock(&self.0);
        let state = states.get(resource).cloned().unwrap_or_default();
        let (out, new_state) = f(&state, now);
        if let Some(s) = new_state {
            states.insert(resource.to_owned(), s);
        }
        Ok(out)
    }

    /// Forgets the state of `resource`.
    fn remove(&self, resource: &str) -> StoreResult<()> {
        validate::resource(resource)?;
        lock(&self.0).remove(resource);
        Ok(())
    }
}

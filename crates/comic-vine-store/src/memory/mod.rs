//! In-memory stores: the embedded default and the reference behaviour.
//!
//! Exact and atomic within one process: the rate-limit, adaptive and dedupe stores are
//! the core's [`crate::cell`] stores over a [`MemoryCell`] (every transition runs under
//! its lock); the cache holds a lock for its whole read-decide-write step. State is
//! shared between clones of a store and between handles made with `with_clock`. Values are kept serialized as JSON, exactly as a
//! remote backend would keep them, so serialization behaves the same everywhere.

mod adaptive;
mod builders;
mod cache;
mod cell;
mod dedupe;
mod rate_limit;

pub use adaptive::MemoryAdaptiveRateLimitStore;
pub use builders::{
    InMemory, MemoryAdaptiveRateLimitStoreBuilder, MemoryDedupeStoreBuilder,
    MemoryRateLimitStoreBuilder,
};
pub use cache::{MemoryCacheStore, MemoryCacheStoreBuilder};
pub use cell::MemoryCell;
pub use dedupe::MemoryDedupeStore;
pub use rate_limit::MemoryRateLimitStore;

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, recovering the data if a panicking thread poisoned it (every
/// critical section here leaves the data consistent before it can panic).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

//! [`NearCacheBuilder`]: the bounds and clock of a [`NearCache`].

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use serde::Serialize;

use super::{Inner, Local, NearCache};
use crate::cache::CacheStore;
use crate::clock::SharedClock;
use crate::error::{StoreError, StoreResult};

/// Builds a [`NearCache`]: `NearCache::builder(shared)…build()?`.
pub struct NearCacheBuilder<S, V = serde_json::Value> {
    pub(super) shared: S,
    pub(super) max_entries: u64,
    pub(super) max_bytes: u64,
    pub(super) max_local_age: Duration,
    pub(super) clock: SharedClock,
    pub(super) _value: PhantomData<fn() -> V>,
}

impl<S, V> NearCacheBuilder<S, V>
where
    S: CacheStore<V> + 'static,
    V: Serialize + Clone + Send + Sync + 'static,
{
    /// The most entries kept locally (default 10,000).
    pub fn max_entries(mut self, n: u64) -> Self {
        self.max_entries = n;
        self
    }

    /// The most bytes kept locally, counted as each entry's key plus serialized value
    /// (default 64 MiB); a value alone over the budget is never kept.
    pub fn max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = n;
        self
    }

    /// The longest a local copy is served without asking the shared store (default
    /// 5 s): the bound on how late a change by another process is seen.
    pub fn max_local_age(mut self, age: Duration) -> Self {
        self.max_local_age = age;
        self
    }

    /// The clock local ages are measured by (default the system clock; give the shared
    /// store's clock so both agree on expiry).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The near cache; `InvalidInput` for a zero bound or age.
    pub fn build(self) -> StoreResult<NearCache<S, V>> {
        if self.max_entries == 0 {
            return Err(StoreError::invalid_input(
                "max_entries",
                "must be at least 1",
            ));
        }
        if self.max_bytes == 0 {
            return Err(StoreError::invalid_input("max_bytes", "must be at least 1"));
        }
        if self.max_local_age.is_zero() {
            return Err(StoreError::invalid_input(
                "max_local_age",
                "must be positive",
            ));
        }
        // One weight bounds both: every entry weighs at least max_bytes / max_entries,
        // so at most max_entries of them fit in max_bytes.
        let min_weight = self.max_bytes.div_ceil(self.max_entries).max(1);
        let local = moka::sync::Cache::builder()
            .max_capacity(self.max_bytes)
            .weigher(|_: &String, v: &Arc<Local<V>>| v.weight)
            .time_to_live(self.max_local_age)
            .support_invalidation_closures()
            .build();
        Ok(NearCache {
            inner: Arc::new(Inner {
                shared: self.shared,
                local,
                epochs: std::array::from_fn(|_| AtomicU64::new(0)),
                clock: self.clock,
                max_local_age: self.max_local_age,
                max_weight: self.max_bytes.min(u64::from(u32::MAX)),
                min_weight,
            }),
        })
    }
}

//! The response cache contract.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::StoreResult;

mod freshness;
mod limit;
pub mod near;
mod periodic;
mod resource;
mod shared;

pub use freshness::{CacheEntry, EntryTimes, Freshness};
pub use limit::{Restamp, serialize_meta, serialize_value};
pub use near::{NearCache, NearCacheBuilder, NearStats};
pub use periodic::{CleanupTask, spawn_periodic_cleanup};
pub use resource::{
    EntrySummary, RESOURCE_SEPARATOR, ResourceEntries, decode_resource, encode_resource,
    key_resource, resource_key, resource_names,
};
pub use shared::writes_reach;

/// The largest value any cache store accepts: 32 MiB of serialized JSON (before any
/// compression). One limit for every backend, checked before anything is written, so a
/// refused `set` leaves the previous value intact and everything accepted can be read.
pub const MAX_VALUE_BYTES: usize = 32 * 1024 * 1024;

/// The longest metadata an entry takes (see [`CacheEntry::meta`]): 16 KiB of JSON, e.g.
/// an HTTP response's headers and validators. Checked before anything is written.
pub const MAX_META_BYTES: usize = 16 * 1024;

/// A cache of API responses keyed by request hash (see [`crate::hash_request`]); a key
/// `<resource>/<hash>` ([`resource_key`]) is an entry of that resource.
///
/// Guarantees every implementation gives:
/// - [`get`](Self::get) never returns an expired entry (one past its stale horizon),
///   whatever a backend's own expiry sweeper has done; it does return a stale one
///   (see [`get_entry`](Self::get_entry) to tell them apart);
/// - a `set` that returned `Ok` is visible to every later `get` until it expires or is
///   replaced; a reader never sees part of one value mixed with another;
/// - `clear`, `cleanup` and `stats` touch cache entries (and their chunks) only.
#[async_trait]
pub trait CacheStore<V>: Send + Sync {
    /// The value stored under `hash` (fresh or stale), or `None` if absent or expired.
    async fn get(&self, hash: &str) -> StoreResult<Option<V>> {
        Ok(self.get_entry(hash).await?.map(|e| e.value))
    }

    /// The entry under `hash` with its times (see [`CacheEntry`]), or `None` if absent
    /// or expired (past its stale horizon). One read, as `get`.
    async fn get_entry(&self, hash: &str) -> StoreResult<Option<CacheEntry<V>>>;

    /// Stores `value` under `hash`, fresh for `ttl` (the store's default TTL when
    /// `None`) and never stale: [`set_entry`](Self::set_entry) with
    /// [`Freshness::fresh_for`]. A TTL of zero stores nothing and removes any previous
    /// value: the entry is expired at once.
    ///
    /// A value whose JSON is longer than [`MAX_VALUE_BYTES`] (32 MiB, before any
    /// compression) is refused with [`StoreError::ItemTooLarge`](crate::StoreError::ItemTooLarge)
    /// before anything is written: the previous value stays (see [`serialize_value`]).
    async fn set(&self, hash: &str, value: &V, ttl: Option<Duration>) -> StoreResult<()>
    where
        V: Sync,
    {
        self.set_entry(hash, value, Freshness::fresh_for(ttl)).await
    }

    /// Stores `value` under `hash`, stamped now, fresh for `freshness.fresh_for` and
    /// then servable stale for `freshness.stale_for`; it expires at the end of both.
    /// A whole horizon of zero removes any previous value; one past the configured
    /// maximum TTL is an `InvalidInput` error. Size limit as [`set`](Self::set).
    async fn set_entry(&self, hash: &str, value: &V, freshness: Freshness) -> StoreResult<()>;

    /// Restamps the live entry under `hash` as stored now with `freshness`, without
    /// rewriting its value (e.g. after an HTTP 304), keeping its metadata
    /// ([`CacheEntry::meta`]): [`restamp`](Self::restamp) with no metadata.
    async fn touch(&self, hash: &str, freshness: Freshness) -> StoreResult<bool> {
        let meta = None;
        self.restamp(hash, Restamp { freshness, meta }).await
    }

    /// As [`touch`](Self::touch), and replaces the entry's metadata with `meta` in the
    /// same write (after an HTTP 304: the merged headers): [`restamp`](Self::restamp).
    async fn touch_with_meta(
        &self,
        hash: &str,
        freshness: Freshness,
        meta: &serde_json::Value,
    ) -> StoreResult<bool> {
        let meta = Some(meta);
        self.restamp(hash, Restamp { freshness, meta }).await
    }

    /// Restamps the live entry under `hash` as stored now with `freshness`, without
    /// rewriting its value, and replaces its metadata with `restamp.meta` if given (else keeps
    /// it). Returns whether an entry was refreshed: `false` when there is none (or it
    /// expired), on a backend that keeps no metadata when `meta` is given, and on a
    /// backend that cannot refresh it cheaply (the DynamoDB store, for a value stored in
    /// chunks that would expire before the new horizon) — then rewrite it with
    /// `set_entry`. A horizon of zero removes it and returns `false`. Metadata longer
    /// than [`MAX_META_BYTES`] is refused with
    /// [`StoreError::MetaTooLarge`](crate::StoreError::MetaTooLarge) before anything is
    /// written (see [`serialize_meta`]); a `set_entry` clears the metadata.
    async fn restamp(&self, hash: &str, restamp: Restamp<'_>) -> StoreResult<bool>;

    /// Removes the entry under `hash`, if any.
    async fn delete(&self, hash: &str) -> StoreResult<()>;

    /// Removes every entry of this cache, and any orphaned chunks; returns how many
    /// entries were removed.
    async fn clear(&self) -> StoreResult<u64>;

    /// Removes expired entries, and orphaned chunks older than the backend's grace
    /// period (see [`CacheStats::orphan_chunks`]); returns how many entries were removed.
    async fn cleanup(&self) -> StoreResult<u64>;

    /// Removes every entry of `resource` (keys `<resource>/…`, see [`resource_key`]),
    /// with their chunks, reading no other resource's entries; returns how many entries
    /// were removed. Entries without a resource, and other resources', stay.
    async fn purge_resource(&self, resource: &str) -> StoreResult<u64>;

    /// The resources this cache holds entries of (names decoded, sorted), or `None` if
    /// this store cannot list them. A backend may list a resource whose entries are
    /// all gone (the DynamoDB store lists every resource it has cached).
    async fn cached_resources(&self) -> StoreResult<Option<Vec<String>>> {
        Ok(None)
    }

    /// The entries of `resource`: how many and their bytes, and the first `limit` of
    /// them by key (see [`ResourceEntries`]); `None` if this store cannot list them.
    async fn resource_entries(
        &self,
        resource: &str,
        limit: usize,
    ) -> StoreResult<Option<ResourceEntries>> {
        let _ = (resource, limit);
        Ok(None)
    }

    /// Counts of entries and their approximate size.
    async fn stats(&self) -> StoreResult<CacheStats>;

    /// Whether the backend answers, and how fast.
    async fn health_check(&self) -> StoreResult<HealthStatus>;

    /// The store this one's writes reach, for a layer in front of another store (a
    /// [`NearCache`], an `Arc`); `None` for a store of its own. A
    /// dedupe store that writes its backend's cache entries itself (with the job's
    /// completion) recognises its own cache through such layers.
    fn writes_through_to(&self) -> Option<&dyn CacheStore<V>> {
        None
    }
}

/// What [`CacheStore::stats`] reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Entries stored, expired ones included.
    pub entries: u64,
    /// Entries past their expiry that are not yet removed.
    pub expired_entries: u64,
    /// Approximate bytes of the stored values (as stored, i.e. after compression), the
    /// chunks of a value stored in parts included; orphaned chunks are not.
    pub approximate_bytes: u64,
    /// Stored chunks that no entry references: left by a writer that died between
    /// writing its chunks and its entry (or still writing it). Always 0 for a backend
    /// that stores each value whole. `cleanup` removes those older than a grace period,
    /// `clear` all of them.
    pub orphan_chunks: u64,
    /// Bytes of [`orphan_chunks`](Self::orphan_chunks) (as stored).
    pub orphan_bytes: u64,
    /// Entries without a resource (counted in [`entries`](Self::entries)): written by a
    /// caller that gave none, or before keys carried their resource (the pipeline and
    /// the HTTP layers no longer read those; they expire by their TTL).
    #[serde(default)]
    pub unresourced_entries: u64,
}

/// What a `health_check` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthStatus {
    /// Whether the backend answered correctly.
    pub healthy: bool,
    /// How long the check took.
    pub latency: Duration,
    /// A human-readable detail (e.g. the table and endpoint checked, or the failure).
    pub detail: String,
}

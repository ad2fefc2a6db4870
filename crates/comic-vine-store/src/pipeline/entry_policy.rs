//! [`EntryPolicy`]: per-value freshness and stale windows, for callers whose values
//! say how long they may be used (an HTTP layer reads them from `Cache-Control`).

use super::StalePolicy;
use crate::cache::{CacheEntry, Freshness};

/// Decides, per value, how long a cache entry is fresh and kept, and which stale
/// windows apply to it; without one, every value gets the
/// [`PipelineConfig`](super::PipelineConfig)'s TTL and [`StalePolicy`].
///
/// The pipeline asks [`freshness`](Self::freshness) when it stores a value from
/// upstream and when upstream confirms a stale one
/// ([`UpstreamError::NotModified`](super::UpstreamError::NotModified): the entry is
/// restamped with it by `touch`), and [`stale_policy`](Self::stale_policy) whenever a
/// stale entry might answer.
pub trait EntryPolicy<V>: Send + Sync {
    /// The freshness to store `value` with; `default` is the configuration's.
    fn freshness(&self, value: &V, default: Freshness) -> Freshness;

    /// The stale windows of `value`'s entry; `default` is the configuration's.
    fn stale_policy(&self, value: &V, default: StalePolicy) -> StalePolicy;

    /// `value` as its entry's metadata ([`CacheEntry::meta`]) amends it: the pipeline
    /// reads every entry through this, so metadata a revalidation replaced (see
    /// [`UpstreamError::NotModifiedFor`](super::UpstreamError::NotModifiedFor)) is
    /// what later answers carry. The default keeps `value` as it is.
    fn with_meta(&self, value: V, meta: &serde_json::Value) -> V {
        let _ = meta;
        value
    }
}

impl<V> super::Pipeline<V> {
    /// The freshness to store `value` with.
    pub(super) fn freshness_of(&self, value: &V) -> Freshness {
        let default = self.config.freshness();
        match &self.entry_policy {
            Some(policy) => policy.freshness(value, default),
            None => default,
        }
    }

    /// `entry` with its metadata applied to its value (see [`EntryPolicy::with_meta`]).
    pub(super) fn amended(&self, mut entry: CacheEntry<V>) -> CacheEntry<V> {
        if let (Some(policy), Some(meta)) = (&self.entry_policy, &entry.meta) {
            entry.value = policy.with_meta(entry.value, meta);
        }
        entry
    }

    /// The stale windows of `value`'s entry.
    pub(super) fn stale_of(&self, value: &V) -> StalePolicy {
        match &self.entry_policy {
            Some(policy) => policy.stale_policy(value, self.config.stale),
            None => self.config.stale,
        }
    }

    /// The stale windows of `stale`'s entry (the configuration's without one).
    pub(super) fn stale_of_entry(&self, stale: Option<&CacheEntry<V>>) -> StalePolicy {
        stale.map_or(self.config.stale, |e| self.stale_of(&e.value))
    }
}

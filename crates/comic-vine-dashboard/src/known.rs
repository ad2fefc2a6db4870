//! The per-resource cache view over known keys, and the dedupe jobs view. A cache store
//! that lists its entries by resource is read through that listing (see
//! [`crate::by_store`]); one that cannot (or holds only entries cached before keys
//! carried their resource), and the dedupe store, are read through the keys a source
//! knows of — the [`KnownKeys`] its application recorded as it issued requests — one
//! lookup per key.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use comic_vine_store::cache::EntrySummary;
use comic_vine_store::{CacheStore, DedupeStore, JobInfo, StoreResult};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

/// Lookups in flight at once while a view is read.
const CONCURRENCY: usize = 16;

/// The request keys (cache and dedupe hashes) an application has issued, each with its
/// resource, oldest first and at most `capacity` of them (the oldest are forgotten).
/// Every view that reads them costs one store lookup per key, so keep `capacity` to what
/// a dashboard poll may cost.
#[derive(Debug)]
pub struct KnownKeys {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    order: VecDeque<(String, String)>,
    seen: HashSet<String>,
}

impl Default for KnownKeys {
    /// Up to 1000 keys.
    fn default() -> Self {
        Self::new(1000)
    }
}

impl KnownKeys {
    /// An empty set holding at most `capacity` keys (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    /// Records that `key` is a request of `resource`. A key already known keeps its
    /// first resource and place.
    pub fn record(&self, resource: &str, key: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if !inner.seen.insert(key.to_owned()) {
            return;
        }
        if inner.order.len() == self.capacity
            && let Some((_, old)) = inner.order.pop_front()
        {
            inner.seen.remove(&old);
        }
        inner.order.push_back((resource.to_owned(), key.to_owned()));
    }

    /// The known `(resource, key)` pairs, oldest first.
    pub fn keys(&self) -> Vec<(String, String)> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.order.iter().cloned().collect()
    }

    /// How many keys are known.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .order
            .len()
    }

    /// Whether no key is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The cache's live entries of one resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceCache {
    /// The resource.
    pub resource: String,
    /// Live entries among the known keys of the resource.
    pub entries: u64,
    /// Their values' size in bytes: as JSON over known keys (before any compression the
    /// store applies), as stored when the store lists them.
    pub bytes: u64,
    /// The resource's first entries as the store lists them (by key, up to the view's
    /// limit); empty over known keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listed: Vec<EntrySummary>,
}

/// Where a [`CacheBreakdown`]'s counts come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// One lookup per known request key.
    #[default]
    KnownKeys,
    /// The cache store's own listing of each resource's entries.
    Store,
}

/// The cache per resource, as far as the known keys tell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheBreakdown {
    /// One row per resource, in the source's order (resources only the keys name last).
    pub resources: Vec<ResourceCache>,
    /// How many keys were looked up (0 when the store listed its entries).
    pub keys_checked: u64,
    /// Where the counts come from.
    #[serde(default)]
    pub basis: Basis,
}

/// One dedupe job the source knows of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    /// The request key (hash) of the job.
    pub key: String,
    /// The resource of the request.
    pub resource: String,
    /// The job as stored.
    pub info: JobInfo,
}

/// The dedupe jobs stored under the known keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupeView {
    /// The jobs, pending ones first, then newest first.
    pub jobs: Vec<JobView>,
    /// How many keys were looked up.
    pub keys_checked: u64,
}

/// Counts the live entries under `known`'s keys per resource; `order` names the rows
/// that come first (with zeros when no key of theirs is cached).
pub(crate) async fn cache_breakdown(
    cache: &dyn CacheStore<serde_json::Value>,
    known: &KnownKeys,
    order: &[String],
) -> StoreResult<CacheBreakdown> {
    let keys = known.keys();
    let checked = keys.len() as u64;
    let sizes: Vec<(String, Option<u64>)> = stream::iter(keys)
        .map(|(resource, key)| async move {
            let value = cache.get(&key).await?;
            let bytes = value.map(|v| serde_json::to_vec(&v).map_or(0, |b| b.len() as u64));
            Ok::<_, comic_vine_store::StoreError>((resource, bytes))
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut rows: Vec<ResourceCache> = order.iter().map(|r| ResourceCache::empty(r)).collect();
    for (resource, bytes) in sizes {
        let i = match rows.iter().position(|r| r.resource == resource) {
            Some(i) => i,
            None => {
                rows.push(ResourceCache::empty(&resource));
                rows.len() - 1
            }
        };
        if let Some(b) = bytes {
            rows[i].entries += 1;
            rows[i].bytes += b;
        }
    }
    Ok(CacheBreakdown {
        resources: rows,
        keys_checked: checked,
        basis: Basis::KnownKeys,
    })
}

impl ResourceCache {
    /// A row of `resource` with nothing counted.
    pub(crate) fn empty(resource: &str) -> Self {
        Self {
            resource: resource.to_owned(),
            entries: 0,
            bytes: 0,
            listed: Vec::new(),
        }
    }
}

/// The jobs stored under `known`'s keys.
pub(crate) async fn dedupe_view(
    dedupe: &dyn DedupeStore<serde_json::Value>,
    keys: Vec<(String, String)>,
) -> StoreResult<DedupeView> {
    let checked = keys.len() as u64;
    let found: Vec<Option<JobView>> = stream::iter(keys)
        .map(|(resource, key)| async move {
            let info = dedupe.job(&key).await?;
            Ok::<_, comic_vine_store::StoreError>(info.map(|info| JobView {
                key,
                resource,
                info,
            }))
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut jobs: Vec<JobView> = found.into_iter().flatten().collect();
    jobs.sort_by(|a, b| {
        let pending = |j: &JobView| j.info.state != comic_vine_store::JobState::Pending;
        (pending(a), std::cmp::Reverse(a.info.created_at), &a.key).cmp(&(
            pending(b),
            std::cmp::Reverse(b.info.created_at),
            &b.key,
        ))
    });
    Ok(DedupeView {
        jobs,
        keys_checked: checked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_are_bounded_unique_and_ordered() {
        let k = KnownKeys::new(2);
        k.record("issues", "a");
        k.record("volumes", "a");
        k.record("issues", "b");
        k.record("issues", "c");
        let want = vec![
            ("issues".to_owned(), "b".to_owned()),
            ("issues".to_owned(), "c".to_owned()),
        ];
        assert_eq!(k.keys(), want);
        k.record("volumes", "a");
        assert_eq!(k.keys()[1], ("volumes".to_owned(), "a".to_owned()));
        assert_eq!(k.len(), 2);
    }
}

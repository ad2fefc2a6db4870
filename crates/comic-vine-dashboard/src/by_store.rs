//! The per-resource cache view from the cache store's own listing
//! ([`CacheStore::cached_resources`], [`CacheStore::resource_entries`]): every resource
//! the store holds entries of, with its count, stored bytes and first entries, so a
//! dashboard on a real table shows that table's resources without knowing any key.

use comic_vine_store::{CacheStore, StoreResult};

use crate::known::{Basis, CacheBreakdown, ResourceCache};

/// The breakdown by the store's listing, each resource's first `limit` entries listed;
/// `order` names the rows that come first (with zeros when nothing of theirs is
/// cached). `None` when the store cannot list, or lists no resource (e.g. it holds only
/// entries cached before keys carried their resource): the known keys may tell more.
pub(crate) async fn store_breakdown(
    cache: &dyn CacheStore<serde_json::Value>,
    order: &[String],
    limit: usize,
) -> StoreResult<Option<CacheBreakdown>> {
    let names = match cache.cached_resources().await? {
        Some(names) if !names.is_empty() => names,
        _ => return Ok(None),
    };
    let mut wanted: Vec<&String> = order.iter().collect();
    wanted.extend(names.iter().filter(|n| !order.contains(n)));
    let mut rows = Vec::with_capacity(wanted.len());
    for name in wanted {
        let Some(listing) = cache.resource_entries(name, limit).await? else {
            return Ok(None);
        };
        rows.push(ResourceCache {
            entries: listing.entries,
            bytes: listing.bytes,
            listed: listing.listed,
            ..ResourceCache::empty(name)
        });
    }
    Ok(Some(CacheBreakdown {
        resources: rows,
        keys_checked: 0,
        basis: Basis::Store,
    }))
}

/// `(resource, key)` of up to `per_resource` listed entries of each resource the store
/// lists (none when it cannot list).
pub(crate) async fn listed_keys(
    cache: &dyn CacheStore<serde_json::Value>,
    per_resource: usize,
) -> StoreResult<Vec<(String, String)>> {
    let Some(names) = cache.cached_resources().await? else {
        return Ok(Vec::new());
    };
    let mut keys = Vec::new();
    for name in names {
        if let Some(listing) = cache.resource_entries(&name, per_resource).await? {
            keys.extend(listing.listed.into_iter().map(|e| (name.clone(), e.key)));
        }
    }
    Ok(keys)
}

//! A `CacheStore` behind an `Arc` is one too, and layers in front of a store say which
//! store their writes reach.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{
    CacheEntry, CacheStats, CacheStore, Freshness, HealthStatus, ResourceEntries, Restamp,
};
use crate::error::StoreResult;

/// Follows [`CacheStore::writes_through_to`] from `cache` and tells whether `target`
/// (compared by address) is `cache` or a store it writes through to.
pub fn writes_reach<V>(cache: &dyn CacheStore<V>, target: *const ()) -> bool {
    let mut current = Some(cache);
    while let Some(c) = current {
        if std::ptr::addr_eq(std::ptr::from_ref(c), target) {
            return true;
        }
        current = c.writes_through_to();
    }
    false
}

#[async_trait]
impl<V, T> CacheStore<V> for Arc<T>
where
    V: Send + Sync,
    T: CacheStore<V>,
{
    async fn get(&self, hash: &str) -> StoreResult<Option<V>> {
        (**self).get(hash).await
    }

    async fn get_entry(&self, hash: &str) -> StoreResult<Option<CacheEntry<V>>> {
        (**self).get_entry(hash).await
    }

    async fn set(&self, hash: &str, value: &V, ttl: Option<Duration>) -> StoreResult<()>
    where
        V: Sync,
    {
        (**self).set(hash, value, ttl).await
    }

    async fn set_entry(&self, hash: &str, value: &V, freshness: Freshness) -> StoreResult<()> {
        (**self).set_entry(hash, value, freshness).await
    }

    async fn restamp(&self, hash: &str, restamp: Restamp<'_>) -> StoreResult<bool> {
        (**self).restamp(hash, restamp).await
    }

    async fn delete(&self, hash: &str) -> StoreResult<()> {
        (**self).delete(hash).await
    }

    async fn clear(&self) -> StoreResult<u64> {
        (**self).clear().await
    }

    async fn cleanup(&self) -> StoreResult<u64> {
        (**self).cleanup().await
    }

    async fn purge_resource(&self, resource: &str) -> StoreResult<u64> {
        (**self).purge_resource(resource).await
    }

    async fn cached_resources(&self) -> StoreResult<Option<Vec<String>>> {
        (**self).cached_resources().await
    }

    async fn resource_entries(
        &self,
        resource: &str,
        limit: usize,
    ) -> StoreResult<Option<ResourceEntries>> {
        (**self).resource_entries(resource, limit).await
    }

    async fn stats(&self) -> StoreResult<CacheStats> {
        (**self).stats().await
    }

    async fn health_check(&self) -> StoreResult<HealthStatus> {
        (**self).health_check().await
    }

    fn writes_through_to(&self) -> Option<&dyn CacheStore<V>> {
        Some(&**self)
    }
}

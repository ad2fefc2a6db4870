//! Where the dashboard's data comes from: the [`DashboardSource`] trait, and
//! [`StoreSource`], its implementation over the core store traits (so it works on every
//! backend: memory, DynamoDB, SQLite).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use comic_vine_store::{
    AdaptiveRateLimitStore, CacheEntry, CacheStats, CacheStore, DedupeStore, RateLimitStatus,
    RateLimitStore, StoreResult, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::by_store;
use crate::known::{self, CacheBreakdown, DedupeView, KnownKeys};
use crate::usage::{UsageFn, UsageView};

/// Without known keys, the dedupe view looks up the jobs of at most this many listed
/// cache entries per resource (one read each).
const JOB_KEYS_PER_RESOURCE: usize = 50;

/// Which limiter of a resource a row of the dashboard shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limiter {
    /// The plain [`RateLimitStore`].
    Plain,
    /// The priority-aware [`AdaptiveRateLimitStore`] (its state is separate).
    Adaptive,
}

impl fmt::Display for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plain => "plain",
            Self::Adaptive => "adaptive",
        })
    }
}

/// One rate-limited resource as one limiter counts it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceId {
    /// The resource, e.g. `issues`.
    pub resource: String,
    /// The limiter counting it.
    pub limiter: Limiter,
}

impl ResourceId {
    /// `resource` as the plain limiter counts it.
    pub fn plain(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            limiter: Limiter::Plain,
        }
    }

    /// `resource` as the adaptive limiter counts it.
    pub fn adaptive(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            limiter: Limiter::Adaptive,
        }
    }
}

/// A circuit breaker's state, as plain fields (any backend's breaker maps onto it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitView {
    /// `closed`, `open` or `half_open`.
    pub state: String,
    /// Consecutive severe failures.
    pub failures: u32,
    /// When an open breaker lets a trial call through.
    pub next_attempt: Option<Timestamp>,
}

/// One point of a grant history: how many requests the window ending at `at` held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// When.
    pub at: Timestamp,
    /// Requests counted in the window then (limit − remaining).
    pub used: u32,
}

/// What the dashboard reads and (with `allow_writes`) changes. The CLI implements it;
/// [`StoreSource`] implements it over the core store traits.
#[async_trait]
pub trait DashboardSource: Send + Sync {
    /// The rows of the rate-limit view, in display order.
    fn resources(&self) -> Vec<ResourceId>;

    /// The current window of one row.
    async fn rate_limit_status(&self, id: &ResourceId) -> StoreResult<RateLimitStatus>;

    /// The cache's counts; `Ok(None)` when there is no cache.
    async fn cache_stats(&self) -> StoreResult<Option<CacheStats>>;

    /// The cache's entries and bytes per resource (each resource's first `limit`
    /// entries listed where the store lists them), as far as the source can tell
    /// without reading the whole cache. `Ok(None)` (the default): it cannot tell (the
    /// page says so and shows the totals only).
    async fn cache_by_resource(&self, limit: usize) -> StoreResult<Option<CacheBreakdown>> {
        let _ = limit;
        Ok(None)
    }

    /// The dedupe jobs the source knows of. `Ok(None)` (the default): it has no dedupe
    /// store.
    async fn dedupe_jobs(&self) -> StoreResult<Option<DedupeView>> {
        Ok(None)
    }

    /// The breaker's state, where the backend has one.
    fn circuit(&self) -> Option<CircuitView> {
        None
    }

    /// Hits, misses and consumed units, where the application knows them.
    fn usage(&self) -> Option<UsageView> {
        None
    }

    /// A grant history kept by the store itself, newest last. `Ok(None)` (the default):
    /// the server samples [`rate_limit_status`](Self::rate_limit_status) instead.
    async fn grant_history(&self, _id: &ResourceId) -> StoreResult<Option<Vec<Sample>>> {
        Ok(None)
    }

    /// Forgets every counted request (and cooldown) of one row.
    async fn reset(&self, id: &ResourceId) -> StoreResult<()>;

    /// The cache entry under `key` with its times (the cache view's search), `Ok(None)`
    /// if there is none. The default refuses: the source has no cache to look in.
    async fn cache_entry(&self, key: &str) -> StoreResult<Option<CacheEntry<serde_json::Value>>> {
        let _ = key;
        Err(comic_vine_store::StoreError::invalid_input(
            "cache",
            "this dashboard has no cache to look up",
        ))
    }

    /// Removes the cache entry under `key`, if any.
    async fn delete_cache_entry(&self, key: &str) -> StoreResult<()>;

    /// Removes every cache entry; returns how many.
    async fn clear_cache(&self) -> StoreResult<u64>;

    /// Removes every cache entry of `resource` (see
    /// [`CacheStore::purge_resource`](comic_vine_store::CacheStore::purge_resource));
    /// returns how many. The default refuses: the source has no such store.
    async fn purge_cache_resource(&self, resource: &str) -> StoreResult<u64> {
        let _ = resource;
        Err(comic_vine_store::StoreError::invalid_input(
            "cache",
            "this dashboard cannot purge a resource",
        ))
    }
}

/// A function reporting a breaker's state.
pub type CircuitFn = Arc<dyn Fn() -> Option<CircuitView> + Send + Sync>;

/// [`DashboardSource`] over the core store traits and a list of resources.
#[derive(Clone, Default)]
pub struct StoreSource {
    resources: Vec<String>,
    plain: Option<Arc<dyn RateLimitStore>>,
    adaptive: Option<Arc<dyn AdaptiveRateLimitStore>>,
    cache: Option<Arc<dyn CacheStore<serde_json::Value>>>,
    dedupe: Option<Arc<dyn DedupeStore<serde_json::Value>>>,
    known: Option<Arc<KnownKeys>>,
    circuit: Option<CircuitFn>,
    usage: Option<UsageFn>,
}

impl fmt::Debug for StoreSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSource")
            .field("resources", &self.resources)
            .field("plain", &self.plain.is_some())
            .field("adaptive", &self.adaptive.is_some())
            .field("cache", &self.cache.is_some())
            .field("dedupe", &self.dedupe.is_some())
            .field("known_keys", &self.known.as_ref().map(|k| k.len()))
            .field("circuit", &self.circuit.is_some())
            .field("usage", &self.usage.is_some())
            .finish()
    }
}

impl StoreSource {
    /// A source showing `resources` (no stores yet: add them with the `with_…` methods).
    pub fn new<I, S>(resources: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            resources: resources.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Shows each resource as the plain limiter counts it.
    pub fn with_rate_limits(mut self, store: Arc<dyn RateLimitStore>) -> Self {
        self.plain = Some(store);
        self
    }

    /// Shows each resource as the adaptive limiter counts it (with its split).
    pub fn with_adaptive(mut self, store: Arc<dyn AdaptiveRateLimitStore>) -> Self {
        self.adaptive = Some(store);
        self
    }

    /// Shows the cache's counts (and allows its mutations).
    pub fn with_cache(mut self, store: Arc<dyn CacheStore<serde_json::Value>>) -> Self {
        self.cache = Some(store);
        self
    }

    /// Shows the jobs of this dedupe store under the [known keys](Self::with_known_keys).
    pub fn with_dedupe(mut self, store: Arc<dyn DedupeStore<serde_json::Value>>) -> Self {
        self.dedupe = Some(store);
        self
    }

    /// The request keys the cache-by-resource and dedupe views look up (one lookup per
    /// key and poll); without them the dashboard shows the cache's totals only.
    pub fn with_known_keys(mut self, known: Arc<KnownKeys>) -> Self {
        self.known = Some(known);
        self
    }

    /// Shows the hits, misses and consumed units `usage` reports (the overview).
    pub fn with_usage(mut self, usage: UsageFn) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Shows a breaker's state, as `circuit` reports it.
    pub fn with_circuit(mut self, circuit: CircuitFn) -> Self {
        self.circuit = Some(circuit);
        self
    }

    fn missing(what: &'static str) -> comic_vine_store::StoreError {
        comic_vine_store::StoreError::invalid_input(what, "this dashboard has no such store")
    }
}

#[async_trait]
impl DashboardSource for StoreSource {
    fn resources(&self) -> Vec<ResourceId> {
        let mut ids = Vec::new();
        for r in &self.resources {
            if self.plain.is_some() {
                ids.push(ResourceId::plain(r.clone()));
            }
            if self.adaptive.is_some() {
                ids.push(ResourceId::adaptive(r.clone()));
            }
        }
        ids
    }

    async fn rate_limit_status(&self, id: &ResourceId) -> StoreResult<RateLimitStatus> {
        match (id.limiter, &self.plain, &self.adaptive) {
            (Limiter::Plain, Some(s), _) => s.status(&id.resource).await,
            (Limiter::Adaptive, _, Some(s)) => s.status(&id.resource).await,
            _ => Err(Self::missing("limiter")),
        }
    }

    async fn cache_stats(&self) -> StoreResult<Option<CacheStats>> {
        match &self.cache {
            Some(c) => c.stats().await.map(Some),
            None => Ok(None),
        }
    }

    /// The store's own listing when it lists any resource; else the known keys.
    async fn cache_by_resource(&self, limit: usize) -> StoreResult<Option<CacheBreakdown>> {
        let Some(c) = &self.cache else {
            return Ok(None);
        };
        if let Some(b) = by_store::store_breakdown(c.as_ref(), &self.resources, limit).await? {
            return Ok(Some(b));
        }
        match &self.known {
            Some(k) => known::cache_breakdown(c.as_ref(), k, &self.resources)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    async fn dedupe_jobs(&self) -> StoreResult<Option<DedupeView>> {
        let Some(d) = &self.dedupe else {
            return Ok(None);
        };
        // The keys the application recorded; else (a real table's dashboard) the keys
        // of the cache entries the store lists: their jobs, pending or recently finished.
        // A pending job of a key never cached is not found (listing jobs would be a Scan).
        let keys = match (&self.known, &self.cache) {
            (Some(k), _) if !k.is_empty() => k.keys(),
            (_, Some(c)) => by_store::listed_keys(c.as_ref(), JOB_KEYS_PER_RESOURCE).await?,
            _ => Vec::new(),
        };
        known::dedupe_view(d.as_ref(), keys).await.map(Some)
    }

    fn circuit(&self) -> Option<CircuitView> {
        self.circuit.as_ref().and_then(|f| f())
    }

    fn usage(&self) -> Option<UsageView> {
        self.usage.as_ref().map(|f| f())
    }

    async fn reset(&self, id: &ResourceId) -> StoreResult<()> {
        match (id.limiter, &self.plain, &self.adaptive) {
            (Limiter::Plain, Some(s), _) => s.reset(&id.resource).await,
            (Limiter::Adaptive, _, Some(s)) => s.reset(&id.resource).await,
            _ => Err(Self::missing("limiter")),
        }
    }

    async fn cache_entry(&self, key: &str) -> StoreResult<Option<CacheEntry<serde_json::Value>>> {
        match &self.cache {
            Some(c) => c.get_entry(key).await,
            None => Err(Self::missing("cache")),
        }
    }

    async fn delete_cache_entry(&self, key: &str) -> StoreResult<()> {
        match &self.cache {
            Some(c) => c.delete(key).await,
            None => Err(Self::missing("cache")),
        }
    }

    async fn clear_cache(&self) -> StoreResult<u64> {
        match &self.cache {
            Some(c) => c.clear().await,
            None => Err(Self::missing("cache")),
        }
    }

    async fn purge_cache_resource(&self, resource: &str) -> StoreResult<u64> {
        match &self.cache {
            Some(c) => c.purge_resource(resource).await,
            None => Err(Self::missing("cache")),
        }
    }
}

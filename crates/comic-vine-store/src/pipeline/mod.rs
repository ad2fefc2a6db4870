//! One request through the stores: request hash → cache → stale policy → dedupe →
//! rate limit → upstream → store, any store optional, whatever the backend.
//!
//! - A fresh cache entry answers at once ([`ServedBy::Cache`]).
//! - A stale one (past its freshness, within its stale horizon) answers under the
//!   [`StalePolicy`] ([`ServedBy::Stale`], with a [`StaleReason`]): at once within
//!   `stale_while_revalidate` (one background refresh per key across the fleet, see
//!   [`Refresher`]); when the rate limit would make the caller wait past `max_wait`
//!   or a cooldown runs, within `stale_if_rate_limited`; when upstream fails, within
//!   `stale_if_error`. Entries are stored with the pipeline's TTL as their freshness
//!   and the policy's longest window as their stale horizon.
//! - On a miss, exactly one caller across the fleet becomes the owner
//!   (`register_or_join`); the others wait for its value.
//! - The owner waits for the rate limit (bounded by `max_wait`), calls upstream, then
//!   caches the value and completes the job through
//!   [`DedupeStore::complete_and_cache`] (on DynamoDB the value is written once: a miss
//!   costs 5 requests there, a hit 1).
//! - When upstream answers "too many requests" (HTTP 429, or Comic Vine's 420), the
//!   resource is put into a fleet-wide cooldown through the limiter, so no process calls
//!   it until the cooldown ends.
//! - With an [`OutageFallback`], a shared store that is unavailable (breaker open,
//!   backend down) does not fail requests: they go on under an in-process limiter
//!   holding this process's share, without the shared cache, and [`Response::degraded`]
//!   says so. The first outage is logged once; the next answer of a shared store ends it.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use comic_vine_store::memory::{MemoryCacheStore, MemoryRateLimitStore};
//! use comic_vine_store::pipeline::{Pipeline, Request, ServedBy};
//! use comic_vine_store::RateLimitConfig;
//! use serde_json::json;
//!
//! let pipeline = Pipeline::<serde_json::Value>::builder()
//!     .cache(Arc::new(MemoryCacheStore::new()))
//!     .rate_limit(Arc::new(MemoryRateLimitStore::new(RateLimitConfig::comic_vine())))
//!     .build();
//! let request = Request::new("issues/list", json!({"limit": 100}), "issues");
//! let first = pipeline.execute(&request, || async { Ok(json!({"results": []})) }).await?;
//! let second = pipeline.execute(&request, || async { Ok(json!("not called")) }).await?;
//! assert_eq!((first.served_by, second.served_by), (ServedBy::Upstream, ServedBy::Cache));
//! # Ok::<(), comic_vine_store::pipeline::PipelineError>(())
//! # }).unwrap();
//! ```

mod config;
mod entry_policy;
mod error;
mod fallback;
mod limiter;
mod refresh;
mod request;
mod steps;
mod store;

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::adaptive::AdaptiveRateLimitStore;
use crate::cache::CacheStore;
use crate::clock::{SharedClock, SystemClock};
use crate::dedupe::DedupeStore;
use crate::error::StoreError;
use crate::rate_limit::RateLimitStore;

pub use config::{PipelineConfig, StalePolicy};
pub use entry_policy::EntryPolicy;
pub use error::{PipelineError, UpstreamError};
use fallback::Fallback;
pub use fallback::OutageFallback;
use limiter::Limiter;
use refresh::InFlight;
pub use refresh::{RefreshFuture, Refresher};
pub use request::{Request, Response, ServedBy, StaleReason};
use steps::{Joined, Looked};

/// The request path over the stores (see the module docs). Clones share the stores
/// and the background refreshes.
pub struct Pipeline<V> {
    cache: Option<Arc<dyn CacheStore<V>>>,
    dedupe: Option<Arc<dyn DedupeStore<V>>>,
    limiter: Option<Limiter>,
    fallback: Option<Arc<Fallback>>,
    refresher: Option<Arc<dyn Refresher<V>>>,
    entry_policy: Option<Arc<dyn EntryPolicy<V>>>,
    in_flight: Arc<InFlight>,
    config: PipelineConfig,
    clock: SharedClock,
}

impl<V> Clone for Pipeline<V> {
    fn clone(&self) -> Self {
        Self {
            cache: self.cache.clone(),
            dedupe: self.dedupe.clone(),
            limiter: self.limiter.clone(),
            fallback: self.fallback.clone(),
            refresher: self.refresher.clone(),
            entry_policy: self.entry_policy.clone(),
            in_flight: Arc::clone(&self.in_flight),
            config: self.config.clone(),
            clock: Arc::clone(&self.clock),
        }
    }
}

/// Builds a [`Pipeline`].
#[must_use]
pub struct PipelineBuilder<V> {
    pipeline: Pipeline<V>,
    fallback: Option<OutageFallback>,
}

impl<V> Pipeline<V> {
    /// A builder with no stores and the default settings.
    pub fn builder() -> PipelineBuilder<V> {
        PipelineBuilder {
            pipeline: Pipeline {
                cache: None,
                dedupe: None,
                limiter: None,
                fallback: None,
                refresher: None,
                entry_policy: None,
                in_flight: Arc::default(),
                config: PipelineConfig::default(),
                clock: Arc::new(SystemClock),
            },
            fallback: None,
        }
    }
}

impl<V> PipelineBuilder<V> {
    /// Uses a cache.
    pub fn cache(mut self, cache: Arc<dyn CacheStore<V>>) -> Self {
        self.pipeline.cache = Some(cache);
        self
    }

    /// Uses request deduplication.
    pub fn dedupe(mut self, dedupe: Arc<dyn DedupeStore<V>>) -> Self {
        self.pipeline.dedupe = Some(dedupe);
        self
    }

    /// Uses a plain rate limiter.
    pub fn rate_limit(mut self, limiter: Arc<dyn RateLimitStore>) -> Self {
        self.pipeline.limiter = Some(Limiter::Plain(limiter));
        self
    }

    /// Uses an adaptive (priority-aware) rate limiter.
    pub fn adaptive_rate_limit(mut self, limiter: Arc<dyn AdaptiveRateLimitStore>) -> Self {
        self.pipeline.limiter = Some(Limiter::Adaptive(limiter));
        self
    }

    /// Other settings.
    pub fn config(mut self, config: PipelineConfig) -> Self {
        self.pipeline.config = config;
        self
    }

    /// Fetches for background refreshes (stale-while-revalidate): without one, a stale
    /// entry within `stale_while_revalidate` is not answered at once, and the request
    /// goes upstream as if the window were off.
    pub fn refresher(mut self, refresher: Arc<dyn Refresher<V>>) -> Self {
        self.pipeline.refresher = Some(refresher);
        self
    }

    /// Decides per value how long entries are fresh and which stale windows apply
    /// (see [`EntryPolicy`]); without one, the configuration's for every value.
    pub fn entry_policy(mut self, policy: Arc<dyn EntryPolicy<V>>) -> Self {
        self.pipeline.entry_policy = Some(policy);
        self
    }

    /// The clock cooldowns and freshness are computed with.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.pipeline.clock = clock;
        self
    }

    /// Keeps working while the shared stores are unavailable (see [`OutageFallback`]);
    /// without it, their errors fail the request.
    pub fn outage_fallback(mut self, fallback: OutageFallback) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// The pipeline.
    pub fn build(self) -> Pipeline<V> {
        let mut pipeline = self.pipeline;
        pipeline.fallback = self
            .fallback
            .map(|f| Fallback::new(f, Arc::clone(&pipeline.clock)));
        pipeline
    }
}

/// The answer of a shared store, or the fallback to use because it is unavailable.
enum Shared<'a, T> {
    Answered(T),
    Down(&'a Fallback),
}

impl<V> Pipeline<V> {
    /// This pipeline (sharing its stores and background refreshes) with `policy` as its
    /// [`EntryPolicy`], e.g. for an HTTP layer over a pipeline built elsewhere.
    pub fn with_entry_policy(mut self, policy: Arc<dyn EntryPolicy<V>>) -> Self {
        self.entry_policy = Some(policy);
        self
    }

    /// This pipeline (sharing its stores and background refreshes) with `refresher` as
    /// its [`Refresher`], e.g. for an HTTP layer that refreshes each request with a call
    /// built for it.
    pub fn with_refresher(mut self, refresher: Arc<dyn Refresher<V>>) -> Self {
        self.refresher = Some(refresher);
        self
    }

    /// Its settings.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Whether the outage fallback is in use (a shared store's last answer was an
    /// outage).
    pub fn is_degraded(&self) -> bool {
        self.fallback.as_ref().is_some_and(|f| f.is_degraded())
    }

    /// Waits until no background refresh started by this pipeline (or its clones) runs
    /// (e.g. before shutting down).
    pub async fn refreshes_idle(&self) {
        self.in_flight.idle().await;
    }

    /// Sorts a shared store's answer: an outage goes to the fallback when there is one.
    fn shared<T>(
        &self,
        step: &str,
        answer: Result<T, StoreError>,
    ) -> Result<Shared<'_, T>, StoreError> {
        match (answer, self.fallback.as_deref()) {
            (Ok(value), fallback) => {
                if let Some(f) = fallback {
                    f.recover();
                }
                Ok(Shared::Answered(value))
            }
            (Err(e), Some(f)) if Fallback::is_outage(&e) => {
                f.degrade(step, &e);
                Ok(Shared::Down(f))
            }
            (Err(e), _) => Err(e),
        }
    }
}

impl<V> Pipeline<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Answers `request`, calling `upstream` only if no store can.
    pub async fn execute<F, Fut>(
        &self,
        request: &Request,
        upstream: F,
    ) -> Result<Response<V>, PipelineError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, UpstreamError>>,
    {
        self.execute_revalidating(request, |_: Option<&V>| upstream())
            .await
    }

    /// Like [`execute`](Self::execute), handing `upstream` the stale cached value, if
    /// any (an HTTP layer takes its validators from it); `upstream` may then answer
    /// [`UpstreamError::NotModified`] to keep that value, restamped fresh
    /// ([`ServedBy::Revalidated`]).
    pub async fn execute_revalidating<F, Fut>(
        &self,
        request: &Request,
        upstream: F,
    ) -> Result<Response<V>, PipelineError>
    where
        F: FnOnce(Option<&V>) -> Fut,
        Fut: Future<Output = Result<V, UpstreamError>>,
    {
        let hash = request.hash();
        let mut upstream = Some(upstream);
        let mut degraded = false;
        for _ in 0..self.config.attempts.max(1) {
            let looked_at = self.clock.now();
            let mut stale = match self.look_up(request, &hash, &mut degraded).await? {
                Looked::Answer(response) => return Ok(response),
                Looked::Stale(entry) => entry,
            };
            let budget = self.if_budget_spent(request, &mut stale, &mut degraded);
            if let Some(response) = budget.await? {
                return Ok(response);
            }
            let job = match self
                .join(&hash, looked_at, &mut stale, &mut degraded)
                .await?
            {
                Joined::Answer(response) => return Ok(response),
                Joined::Retry => continue,
                Joined::Owner(job) => job,
            };
            let call = upstream.take().ok_or(PipelineError::UpstreamUsed)?;
            return self.own(request, &hash, job, stale, call, degraded).await;
        }
        Err(PipelineError::Unanswered {
            endpoint: request.endpoint.clone(),
            attempts: self.config.attempts,
        })
    }
}

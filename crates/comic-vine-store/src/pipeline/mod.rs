//! One request through the stores: request hash → cache → dedupe → rate limit →
//! upstream, any store optional, whatever the backend.
//!
//! - A cache hit answers at once.
//! - On a miss, exactly one caller across the fleet becomes the owner
//!   (`register_or_join`); the others wait for its value.
//! - The owner waits for the rate limit (bounded by `max_wait`), calls upstream, then
//!   caches the value and completes the job through
//!   [`DedupeStore::complete_and_cache`] (one transaction on DynamoDB: a miss costs 4
//!   requests there, a hit 1).
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

mod error;
mod fallback;
mod request;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::adaptive::AdaptiveRateLimitStore;
use crate::cache::CacheStore;
use crate::clock::{SharedClock, SystemClock};
use crate::dedupe::{DedupeStore, JobId, JobOutcome, Registration};
use crate::error::StoreError;
use crate::rate_limit::{Decision, RateLimitStore};

pub use error::{PipelineError, UpstreamError};
use fallback::Fallback;
pub use fallback::OutageFallback;
pub use request::{Request, Response, ServedBy};

enum Limiter {
    Plain(Arc<dyn RateLimitStore>),
    Adaptive(Arc<dyn AdaptiveRateLimitStore>),
}

impl Limiter {
    async fn try_acquire(&self, r: &Request) -> Result<Decision, StoreError> {
        match self {
            Self::Plain(l) => l.try_acquire(&r.resource).await,
            Self::Adaptive(l) => l.try_acquire(&r.resource, r.priority).await,
        }
    }

    async fn cooldown(&self, resource: &str, until: crate::Timestamp) -> Result<(), StoreError> {
        match self {
            Self::Plain(l) => l.cooldown(resource, until).await,
            Self::Adaptive(l) => l.cooldown(resource, until).await,
        }
    }
}

/// Settings of a [`Pipeline`].
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// TTL of cached values (`None`: the cache store's default).
    pub cache_ttl: Option<Duration>,
    /// The longest the owner waits for the rate limit before failing (default 60 s).
    pub max_wait: Duration,
    /// Cooldown after a 429/420 that named no wait (default 60 s).
    pub default_cooldown: Duration,
    /// Attempts when a joined job failed or vanished (default 3).
    pub attempts: u32,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            cache_ttl: None,
            max_wait: Duration::from_secs(60),
            default_cooldown: Duration::from_secs(60),
            attempts: 3,
        }
    }
}

/// The request path over the stores (see the module docs).
pub struct Pipeline<V> {
    cache: Option<Arc<dyn CacheStore<V>>>,
    dedupe: Option<Arc<dyn DedupeStore<V>>>,
    limiter: Option<Limiter>,
    fallback: Option<Arc<Fallback>>,
    config: PipelineConfig,
    clock: SharedClock,
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

    /// The clock cooldowns are computed with.
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
    /// Whether the outage fallback is in use (a shared store's last answer was an
    /// outage).
    pub fn is_degraded(&self) -> bool {
        self.fallback.as_ref().is_some_and(|f| f.is_degraded())
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
    V: Serialize + DeserializeOwned + Send + Sync,
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
        let hash = request.hash();
        let mut upstream = Some(upstream);
        let mut degraded = false;
        let answer = |value, served_by, degraded| Response {
            value,
            served_by,
            rate_limit_waits: 0,
            degraded,
        };
        for _ in 0..self.config.attempts.max(1) {
            if let Some(cache) = &self.cache {
                match self.shared("cache get", cache.get(&hash).await)? {
                    Shared::Answered(Some(value)) => {
                        return Ok(answer(value, ServedBy::Cache, degraded));
                    }
                    Shared::Answered(None) => {}
                    Shared::Down(_) => degraded = true,
                }
            }
            let mut job = None;
            if let Some(dedupe) = &self.dedupe {
                match self.shared("dedupe register", dedupe.register_or_join(&hash).await)? {
                    Shared::Answered(Registration::Owner { job_id, .. }) => job = Some(job_id),
                    Shared::Answered(Registration::Joined { .. }) => {
                        match self.shared("dedupe wait", dedupe.wait_for(&hash).await)? {
                            Shared::Answered(JobOutcome::Completed(value)) => {
                                return Ok(answer(value, ServedBy::DedupeJoin, degraded));
                            }
                            Shared::Answered(JobOutcome::Failed(message)) => {
                                return Err(PipelineError::Upstream(message));
                            }
                            // Abandoned, gone, timed out or unreachable: look again
                            // (maybe take over, maybe degraded).
                            Shared::Answered(_) => continue,
                            Shared::Down(_) => {
                                degraded = true;
                                continue;
                            }
                        }
                    }
                    Shared::Down(_) => degraded = true,
                }
            }
            let call = upstream.take().ok_or_else(used_up)?;
            let called = self.call_upstream(request, call, &mut degraded).await;
            return match called {
                Ok((value, waits)) => {
                    self.store(&hash, job.as_ref(), &value, &mut degraded)
                        .await?;
                    Ok(Response {
                        value,
                        served_by: ServedBy::Upstream,
                        rate_limit_waits: waits,
                        degraded,
                    })
                }
                Err(e) => {
                    if let (Some(dedupe), Some(job)) = (&self.dedupe, &job) {
                        let failed = dedupe.fail(&hash, job, &e.to_string()).await;
                        // Down: the job's lease runs out and a later caller takes over.
                        self.shared("dedupe fail", failed)?;
                    }
                    Err(e)
                }
            };
        }
        Err(PipelineError::Upstream(format!(
            "request for `{}` not answered after {} attempts",
            request.endpoint, self.config.attempts
        )))
    }

    /// Caches the owner's value and completes its job, in one write when the backend
    /// can. A job lost meanwhile (its lease ran out) is logged: the caller still gets
    /// the value.
    async fn store(
        &self,
        hash: &str,
        job: Option<&JobId>,
        value: &V,
        degraded: &mut bool,
    ) -> Result<(), StoreError> {
        let ttl = self.config.cache_ttl;
        let stored = match (&self.cache, &self.dedupe, job) {
            (Some(cache), Some(dedupe), Some(job)) => {
                dedupe
                    .complete_and_cache(hash, job, value, cache.as_ref(), ttl)
                    .await
            }
            (None, Some(dedupe), Some(job)) => dedupe.complete(hash, job, value).await,
            (Some(cache), _, _) => cache.set(hash, value, ttl).await,
            (None, _, _) => Ok(()),
        };
        match stored {
            Err(StoreError::NotJobOwner { .. }) => {
                tracing::warn!(
                    hash,
                    "the job was taken over before it completed; its value is not cached"
                );
                Ok(())
            }
            stored => {
                if let Shared::Down(_) = self.shared("cache set", stored)? {
                    *degraded = true;
                }
                Ok(())
            }
        }
    }

    /// Waits for the rate limit (the shared limiter, or the fallback's while it is down),
    /// then calls upstream; returns the value and the denials waited out.
    async fn call_upstream<F, Fut>(
        &self,
        r: &Request,
        upstream: F,
        degraded: &mut bool,
    ) -> Result<(V, u32), PipelineError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, UpstreamError>>,
    {
        let mut waits = 0;
        if let Some(limiter) = &self.limiter {
            let mut waited = Duration::ZERO;
            loop {
                let decision = match self.shared("rate limit", limiter.try_acquire(r).await)? {
                    Shared::Answered(decision) => decision,
                    Shared::Down(fallback) => {
                        *degraded = true;
                        fallback.limiter.try_acquire(&r.resource).await?
                    }
                };
                if decision.granted {
                    break;
                }
                if waited + decision.wait > self.config.max_wait {
                    return Err(PipelineError::WaitTooLong {
                        resource: r.resource.clone(),
                        wait: decision.wait,
                        max_wait: self.config.max_wait,
                    });
                }
                tokio::time::sleep(decision.wait).await;
                waited += decision.wait;
                waits += 1;
            }
        }
        match upstream().await {
            Ok(value) => Ok((value, waits)),
            Err(UpstreamError::RateLimited { retry_after }) => {
                let wait = retry_after.unwrap_or(self.config.default_cooldown);
                self.cool_down(&r.resource, wait, degraded).await?;
                Err(PipelineError::Upstream(format!(
                    "upstream rate limited `{}`; cooling down for {wait:?}",
                    r.resource
                )))
            }
            Err(UpstreamError::Failed(e)) => {
                Err(PipelineError::Upstream(format!("upstream failed: {e}")))
            }
        }
    }

    /// Stops calls to `resource` for `wait`: fleet-wide through the shared limiter, and
    /// in this process through the fallback's (kept for when the shared one is down).
    async fn cool_down(
        &self,
        resource: &str,
        wait: Duration,
        degraded: &mut bool,
    ) -> Result<(), StoreError> {
        let until = self.clock.now().saturating_add(wait);
        if let Some(fallback) = &self.fallback {
            fallback.limiter.cooldown(resource, until).await?;
        }
        if let Some(limiter) = &self.limiter {
            if let Shared::Down(_) =
                self.shared("cooldown", limiter.cooldown(resource, until).await)?
            {
                *degraded = true;
            }
            tracing::warn!(
                resource,
                ?wait,
                "upstream rate limited: fleet-wide cooldown"
            );
        }
        Ok(())
    }
}

fn used_up() -> PipelineError {
    PipelineError::Upstream("the upstream call was already used".to_owned())
}

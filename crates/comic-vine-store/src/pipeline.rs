//! One request through the stores: request hash → cache → dedupe → rate limit →
//! upstream, any store optional, whatever the backend.
//!
//! - A cache hit answers at once.
//! - On a miss, exactly one caller across the fleet becomes the owner
//!   (`register_or_join`); the others wait for its value.
//! - The owner waits for the rate limit (bounded by `max_wait`), calls upstream, caches
//!   the value and completes the job.
//! - When upstream answers "too many requests" (HTTP 429, or Comic Vine's 420), the
//!   resource is put into a fleet-wide cooldown through the limiter, so no process calls
//!   it until the cooldown ends.
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

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::adaptive::{AdaptiveRateLimitStore, Priority};
use crate::cache::CacheStore;
use crate::clock::{SharedClock, SystemClock};
use crate::dedupe::{DedupeStore, JobOutcome, Registration};
use crate::error::{BoxError, StoreError};
use crate::hash::hash_request;
use crate::rate_limit::{Decision, RateLimitStore};

/// One API request.
#[derive(Clone, Debug)]
pub struct Request {
    endpoint: String,
    params: Value,
    resource: String,
    priority: Priority,
}

impl Request {
    /// A background request for `endpoint` with `params`, limited as `resource`.
    pub fn new(endpoint: impl Into<String>, params: Value, resource: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            params,
            resource: resource.into(),
            priority: Priority::Background,
        }
    }

    /// The same request with another priority.
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// The resource it is limited as.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The request's key in the cache and dedupe stores.
    pub fn hash(&self) -> String {
        hash_request(&self.endpoint, &self.params)
    }
}

/// Which stage answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServedBy {
    /// The cache.
    Cache,
    /// Another caller's in-flight request.
    DedupeJoin,
    /// The upstream API.
    Upstream,
}

/// The answer to a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Response<V> {
    /// The value.
    pub value: V,
    /// Who answered.
    pub served_by: ServedBy,
    /// Denials the owner waited out before calling upstream (0 unless `Upstream`).
    pub rate_limit_waits: u32,
}

/// How an upstream call can fail.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Upstream refused: too many requests (429, or Comic Vine's 420).
    #[error("upstream is rate limiting this resource")]
    RateLimited {
        /// How long it asked to wait (e.g. from `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// Any other failure.
    #[error("upstream failed: {0}")]
    Failed(#[source] BoxError),
}

/// How a pipeline request can fail.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The rate limit would make the request wait longer than allowed.
    #[error(
        "rate limit of `{resource}`: next slot in {wait:?}, longer than the {max_wait:?} allowed"
    )]
    WaitTooLong {
        /// The resource.
        resource: String,
        /// The wait the limiter asked for.
        wait: Duration,
        /// The most the pipeline may wait.
        max_wait: Duration,
    },
    /// Upstream failed (for a joiner: the owner's upstream call failed).
    #[error("{0}")]
    Upstream(String),
}

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
    config: PipelineConfig,
    clock: SharedClock,
}

/// Builds a [`Pipeline`].
#[must_use]
pub struct PipelineBuilder<V>(Pipeline<V>);

impl<V> Pipeline<V> {
    /// A builder with no stores and the default settings.
    pub fn builder() -> PipelineBuilder<V> {
        PipelineBuilder(Pipeline {
            cache: None,
            dedupe: None,
            limiter: None,
            config: PipelineConfig::default(),
            clock: Arc::new(SystemClock),
        })
    }
}

impl<V> PipelineBuilder<V> {
    /// Uses a cache.
    pub fn cache(mut self, cache: Arc<dyn CacheStore<V>>) -> Self {
        self.0.cache = Some(cache);
        self
    }

    /// Uses request deduplication.
    pub fn dedupe(mut self, dedupe: Arc<dyn DedupeStore<V>>) -> Self {
        self.0.dedupe = Some(dedupe);
        self
    }

    /// Uses a plain rate limiter.
    pub fn rate_limit(mut self, limiter: Arc<dyn RateLimitStore>) -> Self {
        self.0.limiter = Some(Limiter::Plain(limiter));
        self
    }

    /// Uses an adaptive (priority-aware) rate limiter.
    pub fn adaptive_rate_limit(mut self, limiter: Arc<dyn AdaptiveRateLimitStore>) -> Self {
        self.0.limiter = Some(Limiter::Adaptive(limiter));
        self
    }

    /// Other settings.
    pub fn config(mut self, config: PipelineConfig) -> Self {
        self.0.config = config;
        self
    }

    /// The clock cooldowns are computed with.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.0.clock = clock;
        self
    }

    /// The pipeline.
    pub fn build(self) -> Pipeline<V> {
        self.0
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
        for _ in 0..self.config.attempts.max(1) {
            if let Some(cache) = &self.cache
                && let Some(value) = cache.get(&hash).await?
            {
                return Ok(Response {
                    value,
                    served_by: ServedBy::Cache,
                    rate_limit_waits: 0,
                });
            }
            let Some(dedupe) = &self.dedupe else {
                let call = upstream.take().ok_or_else(used_up)?;
                return self.call_and_cache(request, &hash, call).await;
            };
            match dedupe.register_or_join(&hash).await? {
                Registration::Joined { .. } => match dedupe.wait_for(&hash).await? {
                    JobOutcome::Completed(value) => {
                        return Ok(Response {
                            value,
                            served_by: ServedBy::DedupeJoin,
                            rate_limit_waits: 0,
                        });
                    }
                    JobOutcome::Failed(message) => return Err(PipelineError::Upstream(message)),
                    // Abandoned, gone or timed out: look again (maybe take over).
                    _ => continue,
                },
                Registration::Owner { job_id, .. } => {
                    let call = upstream.take().ok_or_else(used_up)?;
                    return match self.call_and_cache(request, &hash, call).await {
                        Ok(response) => {
                            dedupe.complete(&hash, &job_id, &response.value).await?;
                            Ok(response)
                        }
                        Err(e) => {
                            dedupe.fail(&hash, &job_id, &e.to_string()).await?;
                            Err(e)
                        }
                    };
                }
            }
        }
        Err(PipelineError::Upstream(format!(
            "request for `{}` not answered after {} attempts",
            request.endpoint, self.config.attempts
        )))
    }

    /// Waits for the rate limit, calls upstream, caches the value.
    async fn call_and_cache<F, Fut>(
        &self,
        r: &Request,
        hash: &str,
        upstream: F,
    ) -> Result<Response<V>, PipelineError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, UpstreamError>>,
    {
        let mut waits = 0;
        if let Some(limiter) = &self.limiter {
            let mut waited = Duration::ZERO;
            loop {
                let decision = limiter.try_acquire(r).await?;
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
            Ok(value) => {
                if let Some(cache) = &self.cache {
                    cache.set(hash, &value, self.config.cache_ttl).await?;
                }
                Ok(Response {
                    value,
                    served_by: ServedBy::Upstream,
                    rate_limit_waits: waits,
                })
            }
            Err(UpstreamError::RateLimited { retry_after }) => {
                let wait = retry_after.unwrap_or(self.config.default_cooldown);
                if let Some(limiter) = &self.limiter {
                    let until = self.clock.now().saturating_add(wait);
                    limiter.cooldown(&r.resource, until).await?;
                    tracing::warn!(resource = %r.resource, ?wait, "upstream rate limited: fleet-wide cooldown");
                }
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
}

fn used_up() -> PipelineError {
    PipelineError::Upstream("the upstream call was already used".to_owned())
}

//! The workers' request path, whatever the stores: cache → dedupe → adaptive rate
//! limit → upstream over HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, Request, StalePolicy, UpstreamError};
pub use comic_vine_store::pipeline::{ServedBy, StaleReason};
use comic_vine_store::{AdaptiveRateLimitStore, CacheStore, DedupeStore, Priority};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The resources the workers call.
pub const RESOURCES: [&str; 4] = ["issues", "volumes", "characters", "search"];
/// Distinct requests per resource; popular ones are picked far more often.
const CATALOGUE: u64 = 30;
const CACHE_TTL: Duration = Duration::from_secs(600);
/// The field of a cached value holding the `ETag` it was answered with, from which a
/// call for its stale entry is made conditional (answered `304`: revalidated).
pub const ETAG: &str = "_etag";

/// One planned request: the pipeline request and the id for the upstream query.
#[derive(Clone, Debug)]
pub struct Planned {
    request: Request,
    id: u64,
    /// Whether a warm-up cached the key before (see [`super::budget`]).
    seen: bool,
}

impl Planned {
    /// `resource`'s request for `id` in run `run`.
    pub fn new(resource: &str, id: u64, priority: Priority, run: &str, seen: bool) -> Self {
        let params = json!({"filter": {"id": id}, "limit": 100, "offset": 0, "run": run});
        Self {
            request: Request::new(format!("{resource}/list"), params, resource)
                .with_priority(priority),
            id,
            seen,
        }
    }

    /// The request's resource and key (its cache and dedupe hash).
    pub fn key(&self) -> (&str, String) {
        (self.request.resource(), self.request.hash())
    }

    /// Whether a warm-up cached the key before.
    #[cfg(test)]
    pub fn seen(&self) -> bool {
        self.seen
    }
}

/// The requests of worker `worker`: the same seed gives the same requests. `run`
/// distinguishes runs sharing a table, so every run starts with a cold cache.
pub fn plan(seed: u64, worker: usize, requests: usize, run: &str) -> Vec<Planned> {
    let mut rng = fastrand::Rng::with_seed(seed.wrapping_add(worker as u64));
    (0..requests)
        .map(|_| {
            let resource = RESOURCES[rng.usize(..RESOURCES.len())];
            // Squaring a uniform draw favours low ids: popular requests repeat.
            let id = (rng.f64().powi(2) * CATALOGUE as f64) as u64;
            let priority = if rng.f64() < 0.3 {
                Priority::User
            } else {
                Priority::Background
            };
            Planned::new(resource, id, priority, run, false)
        })
        .collect()
}

/// How one request went.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outcome {
    /// The stage that served it, or the error.
    pub served: Result<ServedBy, String>,
    /// Its latency in milliseconds.
    pub ms: f64,
    /// The request's resource.
    #[serde(default)]
    pub resource: String,
    /// Whether a warm-up cached its key before.
    #[serde(default)]
    pub seen: bool,
    /// Why a stale entry answered (when `served` is `Stale`).
    #[serde(default)]
    pub stale: Option<StaleReason>,
}

/// How a fleet's pipeline keeps entries and waits for the rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// How long entries are fresh.
    pub ttl: Duration,
    /// The longest an owner waits for a slot.
    pub max_wait: Duration,
    /// When stale entries answer.
    pub stale: StalePolicy,
    /// Whether identical in-flight requests are deduplicated.
    pub dedupe: bool,
}

impl Default for Settings {
    /// The request mix's: long-lived entries, every denial waited out, no stale answers.
    fn default() -> Self {
        Self {
            ttl: CACHE_TTL,
            max_wait: Duration::from_secs(3600),
            stale: StalePolicy::none(),
            dedupe: true,
        }
    }
}

/// The upstream API over HTTP.
pub struct Upstream {
    url: String,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl Upstream {
    /// A client for the API at `url` (e.g. the stub's).
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// One GET, conditional on `etag` if given (`If-None-Match`); Comic Vine's 420 (limit
    /// exceeded) and any other failure are errors, `304 Not Modified` is `None`. An
    /// answer's `ETag` is kept in the value as [`ETAG`].
    async fn call(
        &self,
        resource: &str,
        query: &str,
        etag: Option<&str>,
    ) -> anyhow::Result<Option<Value>> {
        let mut request = hyper::Request::get(format!("{}/{resource}/?{query}", self.url).as_str());
        if let Some(tag) = etag {
            request = request.header(hyper::header::IF_NONE_MATCH, tag);
        }
        let response = self
            .client
            .request(request.body(Empty::new())?)
            .await
            .context("calling the upstream API")?;
        let status = response.status();
        let tag = response.headers().get(hyper::header::ETAG).cloned();
        let body = response.into_body().collect().await?.to_bytes();
        if status == hyper::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        if status.as_u16() == 420 {
            bail!("upstream answered 420: rate limit exceeded for {resource}");
        }
        anyhow::ensure!(status.is_success(), "upstream answered {status}");
        let mut value: Value = serde_json::from_slice(&body)?;
        if let (Some(tag), Some(fields)) = (tag, value.as_object_mut()) {
            fields.insert(ETAG.to_owned(), Value::from(tag.to_str()?));
        }
        Ok(Some(value))
    }
}

/// The pipeline over the stores and the upstream, for one worker (or a group of
/// worker tasks).
pub struct Fleet {
    pipeline: Pipeline<Value>,
    upstream: Upstream,
    /// Denials waited out.
    pub rate_limit_waits: AtomicU64,
}

impl Fleet {
    /// A fleet over these stores and the API.
    pub fn new(
        cache: Arc<dyn CacheStore<Value>>,
        dedupe: Arc<dyn DedupeStore<Value>>,
        limiter: Arc<dyn AdaptiveRateLimitStore>,
        upstream: Upstream,
        settings: Settings,
    ) -> Self {
        let mut pipeline = Pipeline::builder().cache(cache);
        if settings.dedupe {
            pipeline = pipeline.dedupe(dedupe);
        }
        let pipeline = pipeline
            .adaptive_rate_limit(limiter)
            .config(PipelineConfig {
                cache_ttl: Some(settings.ttl),
                max_wait: settings.max_wait,
                attempts: 5,
                stale: settings.stale,
                ..PipelineConfig::default()
            })
            .build();
        Self {
            pipeline,
            upstream,
            rate_limit_waits: AtomicU64::new(0),
        }
    }

    /// Issues `plan`, calling `done` after each request.
    pub async fn run(&self, plan: Vec<Planned>, mut done: impl FnMut(&Outcome)) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(plan.len());
        for planned in plan {
            let started = Instant::now();
            let query = format!("filter=id:{}&limit=100&offset=0", planned.id);
            let resource = planned.request.resource().to_owned();
            let response = self
                .pipeline
                .execute_revalidating(&planned.request, |cached: Option<&Value>| {
                    let etag = cached
                        .and_then(|v| v.get(ETAG))
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    let (resource, query) = (&resource, &query);
                    async move {
                        match self.upstream.call(resource, query, etag.as_deref()).await {
                            Ok(Some(value)) => Ok(value),
                            Ok(None) => Err(UpstreamError::NotModified),
                            Err(e) => Err(UpstreamError::Failed(e.into())),
                        }
                    }
                })
                .await;
            let (served, stale) = match response {
                Ok(r) => {
                    let waits = u64::from(r.rate_limit_waits);
                    self.rate_limit_waits.fetch_add(waits, Ordering::Relaxed);
                    (Ok(r.served_by), r.stale)
                }
                Err(e) => (Err(e.to_string()), None),
            };
            let outcome = Outcome {
                served,
                ms: started.elapsed().as_secs_f64() * 1e3,
                resource,
                seen: planned.seen,
                stale,
            };
            done(&outcome);
            outcomes.push(outcome);
        }
        outcomes
    }
}

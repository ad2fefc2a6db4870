//! The workers' request path, whatever the stores: cache → dedupe → adaptive rate
//! limit → upstream over HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use comic_vine_store::{
    AdaptiveRateLimitStore, CacheStore, DedupeStore, JobOutcome, Priority, Registration,
    hash_request,
};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const RESOURCES: [&str; 4] = ["issues", "volumes", "characters", "search"];
/// Distinct requests per resource; popular ones are picked far more often.
const CATALOGUE: u64 = 30;
const CACHE_TTL: Duration = Duration::from_secs(600);

/// One planned request.
#[derive(Clone, Debug)]
pub struct Request {
    resource: &'static str,
    id: u64,
    priority: Priority,
    /// Distinguishes runs sharing a table, so every run starts with a cold cache.
    run: String,
}

/// The requests of worker `worker`: the same seed gives the same requests.
pub fn plan(seed: u64, worker: usize, requests: usize, run: &str) -> Vec<Request> {
    let mut rng = fastrand::Rng::with_seed(seed.wrapping_add(worker as u64));
    (0..requests)
        .map(|_| Request {
            resource: RESOURCES[rng.usize(..RESOURCES.len())],
            // Squaring a uniform draw favours low ids: popular requests repeat.
            id: (rng.f64().powi(2) * CATALOGUE as f64) as u64,
            priority: if rng.f64() < 0.3 {
                Priority::User
            } else {
                Priority::Background
            },
            run: run.to_owned(),
        })
        .collect()
}

/// Which stage answered a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Served {
    /// The cache.
    Cache,
    /// Another worker's in-flight request (dedupe join).
    DedupeJoin,
    /// The upstream API.
    Upstream,
}

/// How one request went.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outcome {
    /// The stage that served it, or the error.
    pub served: Result<Served, String>,
    /// Its latency in milliseconds.
    pub ms: f64,
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

    /// One GET; Comic Vine's 420 (limit exceeded) and any other failure are errors.
    async fn call(&self, resource: &str, query: &str) -> anyhow::Result<Value> {
        let uri = format!("{}/{resource}/?{query}", self.url).parse()?;
        let response = self
            .client
            .get(uri)
            .await
            .context("calling the upstream API")?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if status.as_u16() == 420 {
            bail!("upstream answered 420: rate limit exceeded for {resource}");
        }
        anyhow::ensure!(status.is_success(), "upstream answered {status}");
        Ok(serde_json::from_slice(&body)?)
    }
}

/// The stores and the upstream one worker (or a group of worker tasks) uses.
pub struct Fleet {
    /// The response cache.
    pub cache: Arc<dyn CacheStore<Value>>,
    /// Request deduplication.
    pub dedupe: Arc<dyn DedupeStore<Value>>,
    /// The adaptive rate limiter.
    pub limiter: Arc<dyn AdaptiveRateLimitStore>,
    /// The API.
    pub upstream: Upstream,
    /// Denials waited out.
    pub rate_limit_waits: AtomicU64,
}

impl Fleet {
    /// Issues `plan`, calling `done` after each request.
    pub async fn run(&self, plan: Vec<Request>, mut done: impl FnMut(&Outcome)) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(plan.len());
        for request in plan {
            let started = Instant::now();
            let served = self.fetch(&request).await.map_err(|e| format!("{e:#}"));
            let outcome = Outcome {
                served,
                ms: started.elapsed().as_secs_f64() * 1e3,
            };
            done(&outcome);
            outcomes.push(outcome);
        }
        outcomes
    }

    /// One request through cache → dedupe → rate limit → upstream.
    async fn fetch(&self, r: &Request) -> anyhow::Result<Served> {
        let params = json!({"filter": {"id": r.id}, "limit": 100, "offset": 0, "run": r.run});
        let hash = hash_request(&format!("{}/list", r.resource), &params);
        for _attempt in 0..5 {
            if self.cache.get(&hash).await?.is_some() {
                return Ok(Served::Cache);
            }
            match self.dedupe.register_or_join(&hash).await? {
                Registration::Joined { .. } => match self.dedupe.wait_for(&hash).await? {
                    JobOutcome::Completed(_) => return Ok(Served::DedupeJoin),
                    // The owner failed or vanished: try again from the cache.
                    _ => continue,
                },
                Registration::Owner { job_id, .. } => {
                    let query = format!("filter=id:{}&limit=100&offset=0", r.id);
                    return match self.call_upstream(r, &query).await {
                        Ok(value) => {
                            self.cache.set(&hash, &value, Some(CACHE_TTL)).await?;
                            self.dedupe.complete(&hash, &job_id, &value).await?;
                            Ok(Served::Upstream)
                        }
                        Err(e) => {
                            self.dedupe.fail(&hash, &job_id, &e.to_string()).await?;
                            Err(e)
                        }
                    };
                }
            }
        }
        bail!(
            "request for {} could not be served after 5 attempts",
            r.resource
        )
    }

    async fn call_upstream(&self, r: &Request, query: &str) -> anyhow::Result<Value> {
        loop {
            let decision = self.limiter.try_acquire(r.resource, r.priority).await?;
            if decision.granted {
                return self.upstream.call(r.resource, query).await;
            }
            self.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(decision.wait).await;
        }
    }
}

//! `cvstore demo`: a fleet of workers sharing one API budget through the stores.
//!
//! Each worker issues a mix of Comic Vine-like requests (popular ones repeat, some are
//! made for a waiting user, most in the background). Every request goes
//! cache → dedupe → adaptive rate limit → upstream. The upstream is the stub Comic Vine
//! API (see [`crate::stub`]) on 127.0.0.1, called over HTTP; it enforces its own
//! per-resource limit and counts every call over it as a violation: the run is correct
//! when it reports `violations: 0`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use comic_vine_store::memory::{MemoryAdaptiveRateLimitStore, MemoryCacheStore, MemoryDedupeStore};
use comic_vine_store::{
    AdaptiveConfig, AdaptiveRateLimitStore, CacheStore, DedupeStore, JobOutcome, Priority,
    RateLimit, RateLimitConfig, Registration, hash_request,
};
use serde::Serialize;
use serde_json::{Value, json};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::DemoArgs;
use crate::stub::{StubApi, StubConfig};

const RESOURCES: [&str; 4] = ["issues", "volumes", "characters", "search"];
/// Distinct requests per resource; popular ones are picked far more often.
const CATALOGUE: u64 = 30;
/// The limiter's window exceeds the upstream's by this much, absorbing the time
/// between a grant and the upstream seeing the call.
const WINDOW_MARGIN: Duration = Duration::from_millis(50);
const CACHE_TTL: Duration = Duration::from_secs(600);

/// The upstream API over HTTP: the stub, and a client for it.
struct Upstream {
    api: StubApi,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl Upstream {
    /// One GET; Comic Vine's 420 (limit exceeded) and any other failure are errors.
    async fn call(&self, resource: &'static str, query: &str) -> anyhow::Result<Value> {
        let uri = format!("{}/{resource}/?{query}", self.api.url()).parse()?;
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

/// Which stage answered a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Served {
    Cache,
    DedupeJoin,
    Upstream,
}

/// Live counts for the progress line.
#[derive(Default)]
struct Progress {
    cache_hits: AtomicU64,
    joins: AtomicU64,
    upstream: AtomicU64,
}

impl Progress {
    fn count(&self, served: Option<Served>) {
        let counter = match served {
            Some(Served::Cache) => &self.cache_hits,
            Some(Served::DedupeJoin) => &self.joins,
            Some(Served::Upstream) => &self.upstream,
            None => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn line(&self, waits: u64) -> String {
        format!(
            "cache hits {} · dedupe joins {} · upstream {} · rate-limit waits {waits}",
            self.cache_hits.load(Ordering::Relaxed),
            self.joins.load(Ordering::Relaxed),
            self.upstream.load(Ordering::Relaxed),
        )
    }
}

struct Fleet {
    cache: Arc<dyn CacheStore<Value>>,
    dedupe: Arc<dyn DedupeStore<Value>>,
    limiter: Arc<dyn AdaptiveRateLimitStore>,
    upstream: Upstream,
    rate_limit_waits: AtomicU64,
}

impl Fleet {
    /// One request through cache → dedupe → rate limit → upstream.
    async fn fetch(
        &self,
        resource: &'static str,
        id: u64,
        priority: Priority,
    ) -> anyhow::Result<Served> {
        let params = json!({"filter": {"id": id}, "limit": 100, "offset": 0});
        let hash = hash_request(&format!("{resource}/list"), &params);
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
                    let query = format!("filter=id:{id}&limit=100&offset=0");
                    let result = self.call_upstream(resource, &query, priority).await;
                    return match result {
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
        bail!("request for {resource} could not be served after 5 attempts")
    }

    async fn call_upstream(
        &self,
        resource: &'static str,
        query: &str,
        priority: Priority,
    ) -> anyhow::Result<Value> {
        loop {
            let decision = self.limiter.try_acquire(resource, priority).await?;
            if decision.granted {
                return self.upstream.call(resource, query).await;
            }
            self.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(decision.wait).await;
        }
    }
}

/// The final report.
#[derive(Debug, Serialize)]
struct Report {
    backend: &'static str,
    workers: usize,
    requests: u64,
    failed: u64,
    cache_hits: u64,
    cache_hit_ratio: f64,
    dedupe_joins: u64,
    upstream_calls: u64,
    upstream_calls_per_resource: HashMap<String, usize>,
    rate_limit_waits: u64,
    violations: u64,
    latency_mean_ms: f64,
    latency_p99_ms: f64,
    elapsed_s: f64,
}

pub async fn run(args: DemoArgs, json_out: bool) -> anyhow::Result<()> {
    if args.workers == 0 || args.requests == 0 {
        bail!("--workers and --requests must be at least 1");
    }
    let limits = RateLimitConfig::new(
        RateLimit::new(args.limit, args.window + WINDOW_MARGIN)
            .context("invalid --limit/--window")?,
    );
    let adaptive = AdaptiveConfig {
        monitoring_window: args.window * 3,
        recalculation_interval: args.window / 4,
        // The default reserve (5) suits Comic Vine's 200/hour; scale it to the demo's limit.
        min_user_reserved: args.limit / 4,
        ..AdaptiveConfig::default()
    };
    let fleet = Arc::new(Fleet {
        cache: Arc::new(MemoryCacheStore::<Value>::new()),
        dedupe: Arc::new(MemoryDedupeStore::<Value>::new()),
        limiter: Arc::new(MemoryAdaptiveRateLimitStore::new(limits, adaptive)?),
        upstream: Upstream {
            api: StubApi::start(StubConfig {
                limit: args.limit as usize,
                window: args.window,
                latency: Duration::from_millis(15),
            })
            .await
            .context("starting the stub Comic Vine API")?,
            client: Client::builder(TokioExecutor::new()).build_http(),
        },
        rate_limit_waits: AtomicU64::new(0),
    });

    let bar = if json_out {
        ProgressBar::hidden()
    } else {
        ProgressBar::new((args.workers * args.requests) as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} requests · {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = Arc::new(Progress::default());
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..args.workers {
        let fleet = Arc::clone(&fleet);
        let (bar, progress) = (bar.clone(), Arc::clone(&progress));
        let mut rng = fastrand::Rng::with_seed(args.seed.wrapping_add(w as u64));
        let requests = args.requests;
        workers.push(tokio::spawn(async move {
            let mut outcomes = Vec::with_capacity(requests);
            for _ in 0..requests {
                let resource = RESOURCES[rng.usize(..RESOURCES.len())];
                // Squaring a uniform draw favours low ids: popular requests repeat.
                let id = (rng.f64().powi(2) * CATALOGUE as f64) as u64;
                let priority = if rng.f64() < 0.3 {
                    Priority::User
                } else {
                    Priority::Background
                };
                let t = Instant::now();
                let served = fleet.fetch(resource, id, priority).await;
                progress.count(served.as_ref().ok().copied());
                bar.inc(1);
                bar.set_message(progress.line(fleet.rate_limit_waits.load(Ordering::Relaxed)));
                outcomes.push((served.map_err(|e| e.to_string()), t.elapsed()));
            }
            outcomes
        }));
    }
    let mut outcomes = Vec::new();
    for w in workers {
        outcomes.extend(w.await.context("a demo worker panicked")?);
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();

    let count = |s: Served| {
        outcomes
            .iter()
            .filter(|(o, _)| o.as_ref().ok() == Some(&s))
            .count() as u64
    };
    let mut latencies: Vec<f64> = outcomes
        .iter()
        .map(|(_, d)| d.as_secs_f64() * 1e3)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let requests = outcomes.len() as u64;
    let report = Report {
        backend: "in-memory (embedded)",
        workers: args.workers,
        requests,
        failed: outcomes.iter().filter(|(o, _)| o.is_err()).count() as u64,
        cache_hits: count(Served::Cache),
        cache_hit_ratio: count(Served::Cache) as f64 / requests as f64,
        dedupe_joins: count(Served::DedupeJoin),
        upstream_calls: count(Served::Upstream),
        upstream_calls_per_resource: fleet.upstream.api.calls_per_resource(),
        rate_limit_waits: fleet.rate_limit_waits.load(Ordering::Relaxed),
        violations: fleet.upstream.api.violations(),
        latency_mean_ms: latencies.iter().sum::<f64>() / latencies.len() as f64,
        latency_p99_ms: latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)],
        elapsed_s: elapsed.as_secs_f64(),
    };
    if let Some((Err(e), _)) = outcomes.iter().find(|(o, _)| o.is_err()) {
        tracing::warn!(error = %e, "some demo requests failed");
    }
    print_report(&report, json_out)?;
    if report.violations > 0 || report.failed > 0 {
        bail!(
            "{} upstream limit violations, {} failed requests",
            report.violations,
            report.failed
        );
    }
    Ok(())
}

fn print_report(r: &Report, json_out: bool) -> anyhow::Result<()> {
    if json_out {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    let mut per_resource: Vec<_> = r.upstream_calls_per_resource.iter().collect();
    per_resource.sort();
    println!(
        "demo report ({}, {} workers, {:.1} s)",
        r.backend, r.workers, r.elapsed_s
    );
    println!("  requests:         {} ({} failed)", r.requests, r.failed);
    println!(
        "  cache hits:       {} ({:.1} %)",
        r.cache_hits,
        r.cache_hit_ratio * 100.0
    );
    println!("  dedupe joins:     {}", r.dedupe_joins);
    println!(
        "  upstream calls:   {}  {:?}",
        r.upstream_calls, per_resource
    );
    println!("  rate-limit waits: {}", r.rate_limit_waits);
    println!(
        "  latency:          mean {:.1} ms, p99 {:.1} ms",
        r.latency_mean_ms, r.latency_p99_ms
    );
    println!("  violations: {}", r.violations);
    Ok(())
}

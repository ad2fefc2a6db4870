//! A small Comic Vine client on reqwest with [`StoreMiddleware`]: one layer gives it the
//! shared cache, request deduplication and the rate limit.
//!
//! ```sh
//! cargo run --release --example comic_vine                 # offline: the stub API, in memory
//! DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo run --release --example comic_vine
//! COMIC_VINE_API_KEY=… cargo run --release --example comic_vine   # the real API
//! ```
//!
//! - Without `COMIC_VINE_API_KEY` it starts the stub Comic Vine API on 127.0.0.1 and
//!   runs against it; with it, against `https://comicvine.gamespot.com/api` (reqwest's
//!   `rustls`: the aws-lc-rs provider, the platform's certificate verifier).
//! - The stores are in memory, or on DynamoDB when `DYNAMODB_ENDPOINT` (or
//!   `--dynamodb-endpoint URL`) names one: table `comic-vine-store` (or `--table NAME`),
//!   created if missing. `--processes N` (default 1) says how many processes share the
//!   limits: while DynamoDB is unavailable this one keeps to its share (the outage
//!   fallback), without the shared cache.
//!
//! It makes a few distinct calls (upstream), one of them again (cache), then the same
//! call from several tasks at once (one upstream call, the others join it or hit the
//! cache), printing one line per call and a summary.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use comic_vine_dynamodb_store::{
    DynamoDbCacheStore, DynamoDbConfig, DynamoDbDedupeStore, DynamoDbRateLimitStore,
    TableDifference, create_table, verify_table,
};
use comic_vine_reqwest::{CachedResponse, ResponseExt, StoreMiddleware};
use comic_vine_store::memory::{MemoryCacheStore, MemoryDedupeStore, MemoryRateLimitStore};
use comic_vine_store::pipeline::{OutageFallback, Pipeline, ServedBy};
use comic_vine_store::{Priority, RateLimitConfig};
use comic_vine_stub::{StubApi, StubConfig};
use reqwest_middleware::ClientWithMiddleware;

/// The real API.
const COMIC_VINE: &str = "https://comicvine.gamespot.com/api";
/// Identical calls made at once.
const CONCURRENT: usize = 6;

/// A Comic Vine client: every method is one GET with Comic Vine's query parameters.
#[derive(Clone)]
struct ComicVine {
    http: ClientWithMiddleware,
    base: String,
    api_key: String,
}

/// One call's answer, as printed.
struct Call {
    method: &'static str,
    resource: &'static str,
    status: u16,
    served_by: Option<ServedBy>,
    elapsed: Duration,
    bytes: usize,
}

impl ComicVine {
    /// `/issues/`: issues matching `filter` (e.g. `volume:796`).
    async fn issues(&self, filter: &str, limit: u32, offset: u32) -> anyhow::Result<Call> {
        self.list("issues", "issues", filter, limit, offset).await
    }

    /// `/volumes/`: volumes matching `filter` (e.g. `name:Watchmen`).
    async fn volumes(&self, filter: &str, limit: u32, offset: u32) -> anyhow::Result<Call> {
        self.list("volumes", "volumes", filter, limit, offset).await
    }

    /// `/characters/`: characters matching `filter` (e.g. `name:Rorschach`).
    async fn characters(&self, filter: &str, limit: u32, offset: u32) -> anyhow::Result<Call> {
        self.list("characters", "characters", filter, limit, offset)
            .await
    }

    /// `/search/`: `query` over `resources` (e.g. `volume,issue`), for a waiting user.
    async fn search(&self, query: &str, resources: &str, limit: u32) -> anyhow::Result<Call> {
        let limit = limit.to_string();
        let params = [
            ("query", query),
            ("resources", resources),
            ("limit", limit.as_str()),
        ];
        self.get("search", "search", &params, Priority::User).await
    }

    async fn list(
        &self,
        method: &'static str,
        resource: &'static str,
        filter: &str,
        limit: u32,
        offset: u32,
    ) -> anyhow::Result<Call> {
        let (limit, offset) = (limit.to_string(), offset.to_string());
        let params = [
            ("filter", filter),
            ("limit", limit.as_str()),
            ("offset", offset.as_str()),
        ];
        self.get(method, resource, &params, Priority::Background)
            .await
    }

    async fn get(
        &self,
        method: &'static str,
        resource: &'static str,
        params: &[(&str, &str)],
        priority: Priority,
    ) -> anyhow::Result<Call> {
        let started = Instant::now();
        let response = self
            .http
            .get(format!("{}/{resource}/", self.base))
            .query(&[("api_key", self.api_key.as_str()), ("format", "json")])
            .query(params)
            .with_extension(priority)
            .send()
            .await
            .with_context(|| format!("{method}: the request failed"))?;
        let (status, served_by) = (response.status().as_u16(), response.served_by());
        let body = response.bytes().await.context("reading the body")?;
        Ok(Call {
            method,
            resource,
            status,
            served_by,
            elapsed: started.elapsed(),
            bytes: body.len(),
        })
    }
}

/// Where the stores live, from the environment and the flags.
struct Options {
    dynamodb_endpoint: Option<String>,
    table: String,
    /// Processes sharing the limits: while DynamoDB is down, this one keeps to its share.
    processes: u32,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        dynamodb_endpoint: std::env::var("DYNAMODB_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty()),
        table: comic_vine_dynamodb_store::DEFAULT_TABLE_NAME.to_owned(),
        processes: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dynamodb-endpoint" => {
                options.dynamodb_endpoint = Some(args.next().context("--dynamodb-endpoint URL")?);
            }
            "--table" => options.table = args.next().context("--table NAME")?,
            "--processes" => {
                options.processes = args
                    .next()
                    .context("--processes N")?
                    .parse()
                    .context("--processes N: a whole number")?;
            }
            other => {
                bail!(
                    "unknown argument `{other}` (flags: --dynamodb-endpoint URL, --table NAME, --processes N)"
                )
            }
        }
    }
    Ok(options)
}

/// The pipeline over the in-memory stores, or the DynamoDB ones.
async fn pipeline(options: &Options) -> anyhow::Result<(Pipeline<CachedResponse>, String)> {
    let limits = RateLimitConfig::comic_vine();
    let builder = Pipeline::<CachedResponse>::builder();
    let Some(endpoint) = &options.dynamodb_endpoint else {
        let pipeline = builder
            .cache(Arc::new(MemoryCacheStore::new()))
            .dedupe(Arc::new(MemoryDedupeStore::new()))
            .rate_limit(Arc::new(MemoryRateLimitStore::new(limits)))
            .build();
        return Ok((pipeline, "in memory".to_owned()));
    };
    // While DynamoDB is unavailable, keep to this process's share, without the cache.
    let fallback = OutageFallback::share_of(&limits, options.processes)?;
    let table = DynamoDbConfig::builder()
        .table_name(&options.table)
        .endpoint(endpoint)
        .build()?
        .connect()
        .await?;
    let differences = verify_table(table.client(), table.name()).await?;
    if differences
        .iter()
        .any(|d| matches!(d, TableDifference::TableMissing { .. }))
    {
        create_table(table.client(), table.name()).await?;
        eprintln!("created table `{}`", table.name());
    } else if let Some(difference) = differences.first() {
        bail!(
            "table `{}` differs from the schema: {difference}",
            table.name()
        );
    }
    // The dedupe store is built with the cache, so a miss completes its job and writes
    // the cache entry in one transaction.
    let cache = Arc::new(DynamoDbCacheStore::new(&table));
    let dedupe = DynamoDbDedupeStore::builder(&table)
        .cache(Arc::clone(&cache))
        .build()?;
    let limiter = DynamoDbRateLimitStore::builder(&table)
        .limits(limits)
        .build()?;
    let pipeline = builder
        .cache(cache)
        .dedupe(Arc::new(dedupe))
        .rate_limit(Arc::new(limiter))
        .outage_fallback(fallback)
        .build();
    Ok((
        pipeline,
        format!("DynamoDB table `{}` at {endpoint}", table.name()),
    ))
}

fn print(call: &Call) {
    let served_by = match call.served_by {
        Some(ServedBy::Upstream) => "upstream",
        Some(ServedBy::Cache) => "cache",
        Some(ServedBy::DedupeJoin) => "dedupe join",
        Some(ServedBy::Revalidated) => "revalidated",
        Some(ServedBy::Stale) => "stale",
        None => "(not shared)",
    };
    println!(
        "{:<11} {:<11} {:>3}  {:<12} {:>8.1} ms {:>9.1} KB",
        call.method,
        call.resource,
        call.status,
        served_by,
        call.elapsed.as_secs_f64() * 1000.0,
        call.bytes as f64 / 1024.0
    );
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = options()?;

    let (stub, base, api_key) = match std::env::var("COMIC_VINE_API_KEY") {
        Ok(key) if !key.is_empty() => (None, COMIC_VINE.to_owned(), key),
        _ => {
            let stub = StubApi::start(StubConfig {
                latency: Duration::from_millis(150),
                ..StubConfig::default()
            })
            .await
            .context("starting the stub Comic Vine API")?;
            let base = stub.url().to_owned();
            (Some(stub), base, "offline-demo-key".to_owned())
        }
    };
    let (pipeline, stores) = pipeline(&options).await?;
    let http = reqwest::Client::builder()
        .user_agent(concat!(
            "comic-vine-reqwest-example/",
            env!("CARGO_PKG_VERSION")
        ))
        .timeout(Duration::from_secs(30))
        .build()?;
    let api = ComicVine {
        http: reqwest_middleware::ClientBuilder::new(http)
            .with(StoreMiddleware::new(Arc::new(pipeline)))
            .build(),
        base,
        api_key,
    };
    println!("Comic Vine at {} · stores {stores}", api.base);
    println!(
        "{:<11} {:<11} {:>3}  {:<12} {:>11} {:>12}",
        "method", "resource", "st", "served by", "time", "body"
    );

    let started = Instant::now();
    let mut calls = vec![
        api.issues("volume:796", 10, 0).await?,
        api.volumes("name:Watchmen", 10, 0).await?,
        api.characters("name:Rorschach", 10, 0).await?,
        api.search("watchmen", "volume,issue", 10).await?,
        // The first call again: the cache.
        api.issues("volume:796", 10, 0).await?,
    ];
    for call in &calls {
        print(call);
    }
    let tasks: Vec<_> = (0..CONCURRENT)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move { api.characters("name:Nite Owl", 20, 0).await })
        })
        .collect();
    for task in tasks {
        let call = task.await??;
        print(&call);
        calls.push(call);
    }

    let count = |s: ServedBy| calls.iter().filter(|c| c.served_by == Some(s)).count();
    println!(
        "\n{} calls in {:.2} s: {} upstream, {} cache, {} dedupe join, {} not shared",
        calls.len(),
        started.elapsed().as_secs_f64(),
        count(ServedBy::Upstream),
        count(ServedBy::Cache),
        count(ServedBy::DedupeJoin),
        calls.iter().filter(|c| c.served_by.is_none()).count(),
    );
    if let Some(stub) = stub {
        let mut per_resource: Vec<_> = stub.calls_per_resource().into_iter().collect();
        per_resource.sort();
        println!(
            "the stub API saw {} calls: {per_resource:?}",
            stub.total_calls()
        );
    }
    Ok(())
}

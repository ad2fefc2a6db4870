//! What the integration tests share: the stores of one pipeline, the stub API, fresh
//! DynamoDB Local tables, the scenarios that the reqwest middleware and the tower layer
//! both run, written once over a [`Driver`] (how one client sends a GET), and headless
//! Chromium for the browser tests ([`chromium`]).

#![warn(missing_docs)]

pub mod chromium;
pub mod dynamodb;
pub mod fleet;
pub mod memory;
mod scenarios;
pub mod stale;
mod tests_macro;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use comic_vine_http::{CachedResponse, Served};
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, PipelineError, ServedBy};
use comic_vine_store::{
    CacheStore, DedupeConfig, DedupeStore, RateLimit, RateLimitConfig, RateLimitStore,
};
use comic_vine_stub::{StubApi, StubConfig};
use http::{HeaderMap, StatusCode};

pub use scenarios::{
    assert_420_cools_down_the_resource_for_other_clients, assert_one_upstream_call_shared,
    get_concurrently,
};

/// Stores for one pipeline.
pub struct Stores {
    /// The response cache.
    pub cache: Arc<dyn CacheStore<CachedResponse>>,
    /// The cross-caller dedupe.
    pub dedupe: Arc<dyn DedupeStore<CachedResponse>>,
    /// The rate limiter.
    pub limiter: Arc<dyn RateLimitStore>,
}

impl Stores {
    /// A pipeline over these stores with `config`.
    pub fn pipeline(self, config: PipelineConfig) -> Pipeline<CachedResponse> {
        Pipeline::<CachedResponse>::builder()
            .cache(self.cache)
            .dedupe(self.dedupe)
            .rate_limit(self.limiter)
            .config(config)
            .build()
    }
}

/// How a test drives one kind of HTTP client (reqwest middleware, tower layer) through a
/// pipeline.
pub trait Driver: 'static {
    /// A client whose GETs go through one pipeline.
    type Client: Clone + Send + Sync + 'static;
    /// What a failed request returns.
    type Error: Debug + Send + 'static;
    /// A client whose GETs go through `pipeline`.
    fn from_pipeline(pipeline: Pipeline<CachedResponse>) -> Self::Client;
    /// A client whose GETs go through a pipeline over `stores`.
    fn client(stores: Stores, config: PipelineConfig) -> Self::Client {
        Self::from_pipeline(stores.pipeline(config))
    }
    /// GETs `url` through `client` and reads the whole answer.
    fn get(
        client: &Self::Client,
        url: &str,
    ) -> impl Future<Output = Result<Answer, Self::Error>> + Send;
    /// The pipeline error inside `err`, if it is one.
    fn pipeline_error(err: &Self::Error) -> Option<&PipelineError>;
    /// `err` as the caller would print it (with its sources).
    fn message(err: &Self::Error) -> String;
}

/// A whole answer.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// How the pipeline served it (`None`: it bypassed the pipeline).
    pub served: Option<Served>,
    /// Who answered, from `served`.
    pub served_by: Option<ServedBy>,
    /// The body as text.
    pub body: String,
}

/// A limit no test reaches: only cooldowns deny.
pub fn generous_limits() -> RateLimitConfig {
    RateLimitConfig::new(RateLimit::new(1000, Duration::from_secs(1)).unwrap())
}

/// The dedupe settings of a fleet test's process: polling every 20 to 100 ms.
pub fn polling_dedupe() -> DedupeConfig {
    DedupeConfig {
        poll_interval: Duration::from_millis(20),
        max_poll_interval: Duration::from_millis(100),
        ..DedupeConfig::default()
    }
}

/// A stub answering after `latency`, limit out of reach.
pub async fn stub(latency: Duration) -> StubApi {
    StubApi::start(StubConfig {
        latency,
        limit: 1000,
        ..StubConfig::default()
    })
    .await
    .unwrap()
}

/// Pipeline settings for the cooldown scenario: how long a request may wait for the
/// limiter, and the cooldown after a 420 without `Retry-After`: 1 s, or 30 s when the
/// stub sends `Retry-After: 1` (so that ignoring the header fails the scenario).
pub fn cooldown_config(retry_after: bool, max_wait: Duration) -> PipelineConfig {
    PipelineConfig {
        default_cooldown: Duration::from_secs(if retry_after { 30 } else { 1 }),
        max_wait,
        ..PipelineConfig::default()
    }
}

/// The stub for the cooldown scenario: one `issues` call per second, then 420
/// (with `Retry-After: 1` if `retry_after`).
pub async fn cooldown_stub(retry_after: bool) -> StubApi {
    StubApi::start(StubConfig {
        limit: 1,
        window: Duration::from_secs(1),
        latency: Duration::ZERO,
        retry_after: retry_after.then_some(Duration::from_secs(1)),
    })
    .await
    .unwrap()
}

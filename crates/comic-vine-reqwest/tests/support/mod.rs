//! What the middleware tests share: clients over a pipeline, concurrent GETs, the 420
//! cooldown scenario.

#![allow(dead_code)] // Each test binary uses its own part of this.

use std::sync::Arc;
use std::time::{Duration, Instant};

use comic_vine_reqwest::{CachedResponse, ResponseExt, StoreMiddleware};
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, PipelineError, ServedBy};
use comic_vine_store::{CacheStore, DedupeStore, RateLimit, RateLimitConfig, RateLimitStore};
use comic_vine_stub::{StubApi, StubConfig};
use reqwest_middleware::ClientWithMiddleware;

/// Stores for one pipeline.
pub struct Stores {
    pub cache: Arc<dyn CacheStore<CachedResponse>>,
    pub dedupe: Arc<dyn DedupeStore<CachedResponse>>,
    pub limiter: Arc<dyn RateLimitStore>,
}

/// A limit no test reaches: only cooldowns deny.
pub fn generous_limits() -> RateLimitConfig {
    RateLimitConfig::new(RateLimit::new(1000, Duration::from_secs(1)).unwrap())
}

/// A plain reqwest client.
pub fn reqwest_client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A client whose GETs go through a pipeline over `stores`.
pub fn client(stores: Stores, config: PipelineConfig) -> ClientWithMiddleware {
    let pipeline = Pipeline::<CachedResponse>::builder()
        .cache(stores.cache)
        .dedupe(stores.dedupe)
        .rate_limit(stores.limiter)
        .config(config)
        .build();
    reqwest_middleware::ClientBuilder::new(reqwest_client())
        .with(StoreMiddleware::new(Arc::new(pipeline)))
        .build()
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

/// GETs `url` once through each client, all at once: (served by, body) per client.
pub async fn get_concurrently(
    clients: &[ClientWithMiddleware],
    url: &str,
) -> Vec<(Option<ServedBy>, String)> {
    let tasks: Vec<_> = clients
        .iter()
        .map(|client| {
            let (client, url) = (client.clone(), url.to_owned());
            tokio::spawn(async move {
                let response = client.get(&url).send().await.unwrap();
                assert_eq!(response.status(), 200);
                let served_by = response.served_by();
                (served_by, response.text().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// Asserts that 8 concurrent answers were one upstream call shared by the others.
pub fn assert_one_upstream_call_shared(api: &StubApi, answers: &[(Option<ServedBy>, String)]) {
    assert_eq!(api.calls_to("issues"), 1, "{:?}", api.calls_per_resource());
    let count = |s: ServedBy| answers.iter().filter(|(by, _)| *by == Some(s)).count();
    let (upstream, joined, cached) = (
        count(ServedBy::Upstream),
        count(ServedBy::DedupeJoin),
        count(ServedBy::Cache),
    );
    assert_eq!(
        (upstream, joined + cached),
        (1, answers.len() - 1),
        "upstream {upstream}, dedupe joins {joined}, cache {cached}"
    );
    assert!(answers[0].1.contains("\"results\""), "{}", answers[0].1);
    assert!(answers.iter().all(|(_, body)| *body == answers[0].1));
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

/// `first` gets a 420 from `api` (so the shared limiter puts `issues` into a 1 s
/// cooldown); `impatient` (max_wait 0) and `patient` (max_wait 5 s), two other
/// clients on the same limiter, then do not call `issues` until the cooldown ends.
/// The clients come from `client_with_max_wait`, one pipeline each.
pub async fn assert_420_cools_down_the_resource_for_other_clients(
    api: &StubApi,
    retry_after: bool,
    client_with_max_wait: impl Fn(Duration) -> ClientWithMiddleware,
) {
    let (first, impatient, patient) = (
        client_with_max_wait(Duration::from_secs(5)),
        client_with_max_wait(Duration::ZERO),
        client_with_max_wait(Duration::from_secs(5)),
    );
    let url = |offset: u32| format!("{}/issues/?api_key=k&offset={offset}", api.url());
    let ok = first.get(url(0)).send().await.unwrap();
    assert_eq!(ok.served_by(), Some(ServedBy::Upstream));
    // Before the request that sets the cooldown: the wait below is at least the cooldown.
    let limited_at = Instant::now();
    let limited = first.get(url(1)).send().await.unwrap();
    // The caller that made the call gets upstream's answer as it was.
    assert_eq!(limited.status().as_u16(), 420);
    assert_eq!(limited.served_by(), None);
    assert_eq!(
        limited.headers().get("retry-after").is_some(),
        retry_after,
        "{:?}",
        limited.headers()
    );
    assert!(limited.text().await.unwrap().contains("Slow down cowboy"));
    assert_eq!(api.calls_to("issues"), 2);

    // Another process: refused at once by the shared cooldown, upstream not called.
    let err = impatient.get(url(2)).send().await.unwrap_err();
    let reqwest_middleware::Error::Middleware(err) = err else {
        panic!("expected a middleware error, got {err:?}");
    };
    match err.downcast_ref::<PipelineError>() {
        Some(PipelineError::WaitTooLong { resource, wait, .. }) => {
            assert_eq!(resource, "issues");
            // At most the 1 s cooldown (not the 30 s default when `Retry-After` says 1).
            assert!(*wait <= Duration::from_secs(1), "{wait:?}");
        }
        other => panic!("expected WaitTooLong, got {other:?} ({err:#})"),
    }
    let message = format!("{err:#}");
    assert!(message.contains("/api/issues/"), "{message}");
    assert!(
        !message.contains("api_key"),
        "no credentials in errors: {message}"
    );
    assert_eq!(api.calls_to("issues"), 2);
    // The cooldown is per resource.
    let volumes = impatient
        .get(format!("{}/volumes/", api.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(volumes.status(), 200);

    // A patient caller waits the cooldown out, then calls upstream once.
    let answer = patient.get(url(2)).send().await.unwrap();
    let waited = limited_at.elapsed();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.served_by(), Some(ServedBy::Upstream));
    let served = answer.served().unwrap();
    assert!(served.rate_limit_waits >= 1, "{served:?}");
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert_eq!(api.calls_to("issues"), 3);
    assert_eq!(api.violations(), 1, "only the call that got the 420");
}

//! The middleware against the stub Comic Vine API, on the in-memory stores.

mod support;

use std::sync::Arc;
use std::time::Duration;

use comic_vine_reqwest::{
    CachedResponse, HttpPipeline, ResponseExt, SERVED_BY_HEADER, StoreMiddleware,
};
use comic_vine_store::memory::{
    MemoryAdaptiveRateLimitStore, MemoryCacheStore, MemoryDedupeStore, MemoryRateLimitStore,
};
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, PipelineError, ServedBy};
use comic_vine_store::{AdaptiveConfig, Priority, RateLimit, RateLimitConfig, RateLimitStore};
use support::{Stores, client, cooldown_config, generous_limits, stub};

fn memory_stores(limiter: Arc<dyn RateLimitStore>) -> Stores {
    Stores {
        cache: Arc::new(MemoryCacheStore::new()),
        dedupe: Arc::new(MemoryDedupeStore::new()),
        limiter,
    }
}

fn memory_client() -> reqwest_middleware::ClientWithMiddleware {
    let limiter = Arc::new(MemoryRateLimitStore::new(generous_limits()));
    client(memory_stores(limiter), PipelineConfig::default())
}

#[tokio::test]
async fn eight_concurrent_identical_gets_make_one_upstream_call() {
    let api = stub(Duration::from_millis(200)).await;
    let clients = vec![memory_client(); 8];
    let url = format!("{}/issues/?api_key=k&format=json&limit=100", api.url());
    let answers = support::get_concurrently(&clients, &url).await;
    support::assert_one_upstream_call_shared(&api, &answers);
    assert!(
        answers
            .iter()
            .any(|(by, _)| *by == Some(ServedBy::DedupeJoin)),
        "the 200 ms upstream call overlaps the others: some join it ({answers:?})"
    );
}

#[tokio::test]
async fn the_api_key_and_the_parameter_order_do_not_split_the_cache() {
    let api = stub(Duration::ZERO).await;
    let client = memory_client();
    let get = |query: &str| {
        let request = client.get(format!("{}/issues/?{query}", api.url()));
        async move { request.send().await.unwrap() }
    };
    let first = get("api_key=A&format=json&limit=5&offset=10").await;
    let first_body = first.text().await.unwrap();
    for query in [
        "offset=10&limit=5&format=json&api_key=B",
        "format=json&offset=10&limit=5",
        "limit=5&API_KEY=C&offset=10&format=json",
    ] {
        let again = get(query).await;
        assert_eq!(again.served_by(), Some(ServedBy::Cache), "{query}");
        assert_eq!(again.headers()[SERVED_BY_HEADER], "cache");
        assert_eq!(again.headers()["content-type"], "application/json");
        assert_eq!(again.text().await.unwrap(), first_body, "{query}");
    }
    assert_eq!(api.calls_to("issues"), 1);
    // Any other parameter value is another request.
    let other = get("api_key=A&format=json&limit=5&offset=20").await;
    assert_eq!(other.served_by(), Some(ServedBy::Upstream));
    assert_eq!(api.calls_to("issues"), 2);
}

#[tokio::test]
async fn the_request_hash_ignores_credentials_and_order_but_not_hashed_headers() {
    let pipeline = Arc::new(Pipeline::<CachedResponse>::builder().build());
    let middleware = StoreMiddleware::new(pipeline);
    let plain = support::reqwest_client();
    let hash = |url: &str, accept: Option<&str>| {
        let mut request = plain.get(url);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        middleware.request_hash(&request.build().unwrap()).unwrap()
    };
    let base = hash("http://127.0.0.1:1/api/issues/?a=1&b=2&api_key=x", None);
    assert_eq!(base, hash("http://127.0.0.1:1/api/issues/?b=2&a=1", None));
    assert_eq!(
        base,
        hash("http://127.0.0.1:1/api/issues/?token=t&b=2&a=1", None)
    );
    assert_ne!(base, hash("http://127.0.0.1:1/api/issues/?a=1&b=3", None));
    assert_ne!(base, hash("http://127.0.0.1:2/api/issues/?a=1&b=2", None));
    assert_ne!(
        base,
        hash(
            "http://127.0.0.1:1/api/issues/?a=1&b=2",
            Some("application/xml")
        )
    );
    // Configurable: with no credential parameters, the key is part of the request.
    let keyed = StoreMiddleware::new(
        HttpPipeline::new(Arc::new(Pipeline::builder().build()))
            .credential_params(Vec::<String>::new()),
    );
    let request = |url: &str| plain.get(url).build().unwrap();
    assert_ne!(
        keyed.request_hash(&request("http://h/api/issues/?api_key=1")),
        keyed.request_hash(&request("http://h/api/issues/?api_key=2"))
    );
}

#[tokio::test]
async fn other_methods_pass_through() {
    let api = stub(Duration::ZERO).await;
    let client = memory_client();
    let url = format!("{}/issues/?api_key=k", api.url());
    for _ in 0..2 {
        let response = client.post(&url).body("{}").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.served_by(), None);
        assert!(response.headers().get(SERVED_BY_HEADER).is_none());
    }
    assert_eq!(api.calls_to("issues"), 2, "both POSTs reached upstream");
}

#[tokio::test]
async fn a_404_reaches_the_caller_unchanged_and_is_not_cached() {
    let api = stub(Duration::ZERO).await;
    let client = memory_client();
    let url = format!("{}/issue/4000-0/?api_key=k&format=json", api.url());
    for calls in 1..=2 {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 404);
        assert_eq!(response.served_by(), None);
        assert!(response.text().await.unwrap().contains("Object Not Found"));
        assert_eq!(api.calls_to("issue"), calls);
    }
    // A found object of the same resource is cached as usual.
    let found = format!("{}/issue/4000-1/?api_key=k&format=json", api.url());
    for served_by in [ServedBy::Upstream, ServedBy::Cache] {
        let response = client.get(&found).send().await.unwrap();
        assert_eq!(
            (response.status().as_u16(), response.served_by()),
            (200, Some(served_by))
        );
    }
    assert_eq!(api.calls_to("issue"), 3);
}

/// Three clients, each with its own pipeline and cache, sharing one limiter store.
async fn cooldown_shared_between_pipelines(retry_after: bool) {
    let api = support::cooldown_stub(retry_after).await;
    let limiter: Arc<dyn RateLimitStore> = Arc::new(MemoryRateLimitStore::new(generous_limits()));
    let with_max_wait = |max_wait| {
        client(
            memory_stores(Arc::clone(&limiter)),
            cooldown_config(retry_after, max_wait),
        )
    };
    support::assert_420_cools_down_the_resource_for_other_clients(&api, retry_after, with_max_wait)
        .await;
}

#[tokio::test]
async fn a_420_with_retry_after_cools_the_resource_down_for_every_pipeline_on_the_limiter() {
    cooldown_shared_between_pipelines(true).await;
}

#[tokio::test]
async fn a_420_without_retry_after_cools_down_for_the_default_cooldown() {
    cooldown_shared_between_pipelines(false).await;
}

#[tokio::test]
async fn the_priority_extension_reaches_the_adaptive_limiter() {
    let api = stub(Duration::ZERO).await;
    // 6 per minute with 5 kept for users: background gets 1.
    let limits = RateLimitConfig::new(RateLimit::new(6, Duration::from_secs(60)).unwrap());
    let adaptive = MemoryAdaptiveRateLimitStore::new(limits, AdaptiveConfig::default()).unwrap();
    let pipeline = Pipeline::<CachedResponse>::builder()
        .adaptive_rate_limit(Arc::new(adaptive))
        .config(PipelineConfig {
            max_wait: Duration::ZERO,
            ..PipelineConfig::default()
        })
        .build();
    let client = reqwest_middleware::ClientBuilder::new(support::reqwest_client())
        .with(StoreMiddleware::new(Arc::new(pipeline)))
        .build();
    let url = |n: u32| format!("{}/issues/?offset={n}", api.url());
    let background = client.get(url(0)).send().await.unwrap();
    assert_eq!(background.status(), 200);
    let denied = client.get(url(1)).send().await.unwrap_err();
    assert!(
        matches!(
            denied,
            reqwest_middleware::Error::Middleware(ref e)
                if matches!(e.downcast_ref::<PipelineError>(), Some(PipelineError::WaitTooLong { .. }))
        ),
        "{denied:?}"
    );
    let user = client
        .get(url(1))
        .with_extension(Priority::User)
        .send()
        .await
        .unwrap();
    assert_eq!(user.served_by(), Some(ServedBy::Upstream));
    assert_eq!(api.calls_to("issues"), 2);
}

#[tokio::test]
async fn callers_that_joined_a_failed_call_get_a_typed_error_not_another_call() {
    let api = stub(Duration::from_millis(200)).await;
    let client = memory_client();
    let url = format!("{}/issue/4000-0/", api.url());
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let request = client.get(&url);
            tokio::spawn(async move { request.send().await })
        })
        .collect();
    let (mut not_found, mut joined_failed) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(response) if response.status() == 404 => not_found += 1,
            Err(reqwest_middleware::Error::Middleware(e)) if matches!(e.downcast_ref::<PipelineError>(), Some(PipelineError::JoinedFailed(m)) if m.contains("404")) => {
                joined_failed += 1
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((not_found, joined_failed), (1, 3));
    assert_eq!(api.calls_to("issue"), 1);
}

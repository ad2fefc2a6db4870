//! The tower layer over hyper-util's client against the stub Comic Vine API, on the
//! in-memory stores.

mod support;

use std::sync::Arc;
use std::time::Duration;

use comic_vine_store::memory::{MemoryCacheStore, MemoryDedupeStore, MemoryRateLimitStore};
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, PipelineError, ServedBy};
use comic_vine_store::{AdaptiveConfig, Priority, RateLimit, RateLimitConfig, RateLimitStore};
use comic_vine_tower::{CachedResponse, HttpPipeline, SERVED_BY_HEADER, StoreLayer};
use http::Method;
use support::{Stores, client, cooldown_config, generous_limits, get, request, send, stub};
use tower::Layer;

fn memory_stores(limiter: Arc<dyn RateLimitStore>) -> Stores {
    Stores {
        cache: Arc::new(MemoryCacheStore::new()),
        dedupe: Arc::new(MemoryDedupeStore::new()),
        limiter,
    }
}

fn memory_client() -> support::HttpClient {
    let limiter = Arc::new(MemoryRateLimitStore::new(generous_limits()));
    client(memory_stores(limiter), PipelineConfig::default())
}

#[tokio::test]
async fn the_second_request_is_a_cache_hit_whatever_the_api_key_and_parameter_order() {
    let api = stub(Duration::ZERO).await;
    let client = memory_client();
    let url = |query: &str| format!("{}/issues/?{query}", api.url());
    let first = get(&client, &url("api_key=A&format=json&limit=5&offset=10"))
        .await
        .unwrap();
    assert_eq!(first.served_by, Some(ServedBy::Upstream));
    assert_eq!(first.headers[SERVED_BY_HEADER], "upstream");
    for query in [
        "offset=10&limit=5&format=json&api_key=B",
        "format=json&offset=10&limit=5",
        "limit=5&API_KEY=C&offset=10&format=json",
    ] {
        let again = get(&client, &url(query)).await.unwrap();
        assert_eq!(again.served_by, Some(ServedBy::Cache), "{query}");
        assert_eq!(again.headers[SERVED_BY_HEADER], "cache");
        assert_eq!(again.headers["content-type"], "application/json");
        assert_eq!(again.body, first.body, "{query}");
    }
    assert_eq!(api.calls_to("issues"), 1);
    // Any other parameter value is another request.
    let other = get(&client, &url("api_key=A&format=json&limit=5&offset=20"))
        .await
        .unwrap();
    assert_eq!(other.served_by, Some(ServedBy::Upstream));
    assert_eq!(api.calls_to("issues"), 2);
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
            .any(|a| a.served_by == Some(ServedBy::DedupeJoin)),
        "the 200 ms upstream call overlaps the others: some join it ({answers:?})"
    );
}

#[tokio::test]
async fn other_methods_and_ranges_pass_through() {
    let api = stub(Duration::ZERO).await;
    let client = memory_client();
    let url = format!("{}/issues/?api_key=k", api.url());
    for calls in 1..=2 {
        let post = send(&client, request(Method::POST, &url)).await.unwrap();
        assert_eq!(post.status, 200);
        assert_eq!(post.served_by, None);
        assert!(post.headers.get(SERVED_BY_HEADER).is_none());
        assert_eq!(api.calls_to("issues"), calls, "every POST reaches upstream");
    }
    let mut ranged = request(Method::GET, &url);
    ranged
        .headers_mut()
        .insert("range", "bytes=0-9".parse().unwrap());
    let ranged = send(&client, ranged).await.unwrap();
    assert_eq!(ranged.served_by, None);
    assert_eq!(api.calls_to("issues"), 3);
}

#[tokio::test]
async fn a_404_reaches_the_caller_unchanged_and_is_not_cached() {
    let api = stub(Duration::ZERO).await;
    let client = memory_client();
    let url = format!("{}/issue/4000-0/?api_key=k&format=json", api.url());
    for calls in 1..=2 {
        let answer = get(&client, &url).await.unwrap();
        assert_eq!(answer.status, 404);
        assert_eq!(answer.served_by, None);
        assert!(answer.body.contains("Object Not Found"), "{}", answer.body);
        assert_eq!(api.calls_to("issue"), calls);
    }
}

#[tokio::test]
async fn callers_that_joined_a_failed_call_get_a_typed_error_not_another_call() {
    let api = stub(Duration::from_millis(200)).await;
    let client = memory_client();
    let url = format!("{}/issue/4000-0/", api.url());
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move { get(&client, &url).await })
        })
        .collect();
    let (mut not_found, mut joined_failed) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(answer) if answer.status == 404 => not_found += 1,
            Err(e) if matches!(support::pipeline_error(&e), Some(PipelineError::JoinedFailed(m)) if m.contains("404")) => {
                joined_failed += 1
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((not_found, joined_failed), (1, 3));
    assert_eq!(api.calls_to("issue"), 1);
}

#[tokio::test]
async fn inner_service_errors_reach_the_caller_as_they_are() {
    // Nobody listens on port 1: hyper's connection error, not a pipeline error.
    let client = memory_client();
    let err = get(&client, "http://127.0.0.1:1/api/issues/?api_key=k")
        .await
        .unwrap_err();
    assert!(
        err.downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(hyper_util::client::legacy::Error::is_connect),
        "{err:?}"
    );
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
async fn the_priority_extension_reaches_the_adaptive_limiter_and_the_config_applies() {
    let api = stub(Duration::ZERO).await;
    // 6 per minute with 5 kept for users: background gets 1.
    let limits = RateLimitConfig::new(RateLimit::new(6, Duration::from_secs(60)).unwrap());
    let adaptive = comic_vine_store::memory::MemoryAdaptiveRateLimitStore::new(
        limits,
        AdaptiveConfig::default(),
    )
    .unwrap();
    let pipeline = Pipeline::<CachedResponse>::builder()
        .adaptive_rate_limit(Arc::new(adaptive))
        .cache(Arc::new(MemoryCacheStore::new()))
        .config(PipelineConfig {
            max_wait: Duration::ZERO,
            ..PipelineConfig::default()
        })
        .build();
    // With no credential parameters, the API key is part of the request.
    let http = HttpPipeline::new(Arc::new(pipeline)).credential_params(Vec::<String>::new());
    let client = StoreLayer::new(http).layer(support::hyper_client());
    let url = |key: &str| format!("{}/issues/?api_key={key}", api.url());
    let background = get(&client, &url("A")).await.unwrap();
    assert_eq!(background.served_by, Some(ServedBy::Upstream));
    let denied = get(&client, &url("B")).await.unwrap_err();
    assert!(
        matches!(
            support::pipeline_error(&denied),
            Some(PipelineError::WaitTooLong { .. })
        ),
        "{denied:?}"
    );
    let mut user = request(Method::GET, &url("B"));
    user.extensions_mut().insert(Priority::User);
    let user = send(&client, user).await.unwrap();
    assert_eq!(user.served_by, Some(ServedBy::Upstream));
    assert_eq!(api.calls_to("issues"), 2);
}

//! The tower layer over hyper-util's client against the stub Comic Vine API, on the
//! in-memory stores.

mod support;

use std::sync::Arc;
use std::time::Duration;

use comic_vine_store::memory::MemoryCacheStore;
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, PipelineError, ServedBy};
use comic_vine_store::{AdaptiveConfig, Priority, RateLimit, RateLimitConfig};
use comic_vine_testkit::memory;
use comic_vine_testkit::stub;
use comic_vine_tower::{CachedResponse, HttpPipeline, SERVED_BY_HEADER, StoreLayer};
use http::Method;
use support::{Tower, get, request, send};
use tower::Layer;

// The scenarios the reqwest middleware runs too.
comic_vine_testkit::memory_tests!(Tower);

#[tokio::test]
async fn other_methods_and_ranges_pass_through() {
    let api = stub(Duration::ZERO).await;
    let client = memory::client::<Tower>();
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
async fn inner_service_errors_reach_the_caller_as_they_are() {
    // Nobody listens on port 1: hyper's connection error, not a pipeline error.
    let client = memory::client::<Tower>();
    let err = get(&client, "http://127.0.0.1:1/api/issues/?api_key=k")
        .await
        .unwrap_err();
    assert!(
        err.downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(hyper_util::client::legacy::Error::is_connect),
        "{err:?}"
    );
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

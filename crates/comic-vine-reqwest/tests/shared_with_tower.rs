//! The reqwest middleware and the tower layer are two adapters over one
//! `HttpPipeline`: on the same stores they compute the same keys, so a request made
//! with one client is a cache hit (or a dedupe join) for the other.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use comic_vine_reqwest::{CachedResponse, ResponseExt as _, StoreMiddleware};
use comic_vine_store::RateLimitConfig;
use comic_vine_store::memory::{MemoryCacheStore, MemoryDedupeStore, MemoryRateLimitStore};
use comic_vine_store::pipeline::{Pipeline, ServedBy};
use comic_vine_stub::{StubApi, StubConfig};
use comic_vine_tower::{HttpPipeline, StoreLayer};
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Layer as _, ServiceExt as _};

#[tokio::test]
async fn a_reqwest_request_and_a_tower_request_share_cache_entries_and_calls_in_flight() {
    let api = StubApi::start(StubConfig {
        latency: Duration::from_millis(200),
        limit: 1000,
        ..StubConfig::default()
    })
    .await
    .unwrap();
    let pipeline = Arc::new(
        Pipeline::<CachedResponse>::builder()
            .cache(Arc::new(MemoryCacheStore::new()))
            .dedupe(Arc::new(MemoryDedupeStore::new()))
            .rate_limit(Arc::new(MemoryRateLimitStore::new(
                RateLimitConfig::comic_vine(),
            )))
            .build(),
    );
    let reqwest = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(StoreMiddleware::new(Arc::clone(&pipeline)))
        .build();
    let hyper = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let tower = StoreLayer::new(Arc::clone(&pipeline)).layer(hyper);
    let tower_get = |url: String| {
        let tower = tower.clone();
        async move {
            let request = http::Request::get(url).body(Empty::new()).unwrap();
            let response = tower.oneshot(request).await.unwrap();
            let served_by = comic_vine_tower::ResponseExt::served_by(&response);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (served_by, body)
        }
    };
    let reqwest_get = |url: String| {
        let reqwest = reqwest.clone();
        async move {
            let response = reqwest.get(url).send().await.unwrap();
            let served_by = response.served_by();
            (served_by, response.bytes().await.unwrap())
        }
    };
    let url = |query: &str| format!("{}/issues/?{query}", api.url());

    // The same key from both sides, for the same request written differently.
    let http = HttpPipeline::new(Arc::clone(&pipeline));
    let from_reqwest = StoreMiddleware::new(http.clone()).request_hash(
        &reqwest::Client::new()
            .get(url("api_key=A&limit=2&offset=0"))
            .build()
            .unwrap(),
    );
    let from_http = http.request_hash(
        &url("offset=0&limit=2&api_key=B").parse().unwrap(),
        &http::HeaderMap::new(),
    );
    assert_eq!(from_reqwest, from_http);
    assert!(from_http.is_some());

    // reqwest first, tower from the cache; then tower first, reqwest from the cache.
    let (served_by, first) = reqwest_get(url("api_key=A&limit=2&offset=0")).await;
    assert_eq!(served_by, Some(ServedBy::Upstream));
    assert_eq!(
        tower_get(url("offset=0&limit=2&api_key=B")).await,
        (Some(ServedBy::Cache), first)
    );
    let (served_by, body) = tower_get(url("api_key=B&limit=2&offset=2")).await;
    assert_eq!(served_by, Some(ServedBy::Upstream));
    assert_eq!(
        reqwest_get(url("offset=2&api_key=A&limit=2")).await,
        (Some(ServedBy::Cache), body)
    );
    assert_eq!(api.calls_to("issues"), 2);

    // At once, one from each: one upstream call, the other joins it.
    let (a, b) = tokio::join!(
        reqwest.get(url("api_key=A&limit=2&offset=4")).send(),
        tower_get(url("api_key=B&limit=2&offset=4")),
    );
    let mut served = [a.unwrap().served_by(), b.0];
    served.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(
        served,
        [Some(ServedBy::DedupeJoin), Some(ServedBy::Upstream)]
    );
    assert_eq!(api.calls_to("issues"), 3);
}

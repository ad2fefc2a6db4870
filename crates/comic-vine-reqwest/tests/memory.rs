//! The middleware against the stub Comic Vine API, on the in-memory stores.

mod support;

use std::sync::Arc;
use std::time::Duration;

use comic_vine_reqwest::{
    CachedResponse, HttpPipeline, ResponseExt, SERVED_BY_HEADER, StoreMiddleware,
};
use comic_vine_store::memory::MemoryAdaptiveRateLimitStore;
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, PipelineError, ServedBy};
use comic_vine_store::{AdaptiveConfig, Priority, RateLimit, RateLimitConfig};
use comic_vine_testkit::memory;
use comic_vine_testkit::stub;
use support::Reqwest;

// The scenarios the tower layer runs too.
comic_vine_testkit::memory_tests!(Reqwest);

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
    let client = memory::client::<Reqwest>();
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
    let client = support::middleware_client(pipeline);
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

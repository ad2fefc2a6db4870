//! Validators end to end against the stub Comic Vine API: a stored answer made
//! conditional, the stub's `304`, the entry refreshed without a new body; and the
//! sparse headers of the real API (no validators: the configured TTL, as before); a
//! revalidation retried after a 503 still conditional.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use comic_vine_http::{BoxError, CachedResponse, HttpPipeline, Outcome, ResponseExt, RetryPolicy};
use comic_vine_store::memory::MemoryCacheStore;
use comic_vine_store::pipeline::{Pipeline, ServedBy};
use comic_vine_store::{ManualClock, SharedClock};
use comic_vine_stub::{StubApi, StubCaching, StubConfig};
use http::HeaderMap;

mod support;
use support::get_uri;

fn http() -> HttpPipeline {
    HttpPipeline::new(Arc::new(
        Pipeline::<CachedResponse>::builder()
            .cache(Arc::new(MemoryCacheStore::new()))
            .build(),
    ))
}

/// The stub with every caching header, fresh for 60 s.
async fn full_stub() -> StubApi {
    StubApi::start_with_caching(
        StubConfig::default(),
        StubCaching::full(Duration::from_secs(60)),
    )
    .await
    .unwrap()
}

/// Fetches `uri` and keeps it as the pipeline would.
async fn fetch(uri: &http::Uri) -> (CachedResponse, HeaderMap) {
    let response = get_uri(uri, &HeaderMap::new()).await.unwrap();
    let (parts, body) = response.into_parts();
    let kept = CachedResponse::from_upstream(
        parts.status,
        &parts.headers,
        &[http::header::CONTENT_TYPE, http::header::ETAG],
        Bytes::from(body),
    );
    (kept, parts.headers)
}

#[tokio::test]
async fn a_stale_entry_is_revalidated_with_a_304_and_keeps_its_body() {
    let api = full_stub().await;
    let http = http();
    let uri: http::Uri = format!("{}/issue/4000-7/?api_key=k", api.url())
        .parse()
        .unwrap();
    let (stored, headers) = fetch(&uri).await;
    let now = SystemTime::now();
    let f = http.freshness(&HeaderMap::new(), &headers, now).unwrap();
    assert_eq!(f.fresh_for, Some(Duration::from_secs(60)));
    assert!(stored.etag().is_some() && stored.last_modified().is_some());

    let conditional = http.revalidation_headers(&stored);
    assert_eq!(conditional.len(), 2, "{conditional:?}");
    let answer = get_uri(&uri, &conditional).await.unwrap();
    assert_eq!(answer.status(), http::StatusCode::NOT_MODIFIED);
    let (parts, body) = answer.into_parts();
    assert!(body.is_empty());
    let refreshed = http.merge_not_modified(&stored, &parts, &HeaderMap::new(), now);
    assert_eq!(
        refreshed.freshness.unwrap().fresh_for,
        Some(Duration::from_secs(60))
    );
    assert_eq!(refreshed.response.body(), stored.body());
    assert_eq!(refreshed.response.etag(), stored.etag());
    assert_eq!(
        (
            api.full_requests(),
            api.conditional_requests(),
            api.not_modified()
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn sparse_headers_like_comic_vine_mean_the_configured_ttl_and_no_validators() {
    let api = StubApi::start(StubConfig::default()).await.unwrap();
    let http = http();
    let uri: http::Uri = format!("{}/issue/4000-7/", api.url()).parse().unwrap();
    let (stored, headers) = fetch(&uri).await;
    let f = http
        .freshness(&HeaderMap::new(), &headers, SystemTime::now())
        .unwrap();
    assert_eq!(f.fresh_for, None, "the configured TTL applies");
    assert!(http.revalidation_headers(&stored).is_empty());
    assert_eq!((api.full_requests(), api.conditional_requests()), (1, 0));
}

#[tokio::test]
async fn a_revalidation_retried_after_a_503_stays_conditional() {
    let api = full_stub().await;
    let clock = ManualClock::starting_now();
    let shared: SharedClock = Arc::new(clock.clone());
    let pipeline = Pipeline::<CachedResponse>::builder()
        .cache(Arc::new(
            MemoryCacheStore::new().with_clock(Arc::clone(&shared)),
        ))
        .clock(shared)
        .build();
    let quick = RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(5));
    let http = HttpPipeline::new(Arc::new(pipeline))
        .retries(quick, Arc::new(|_, _| Box::pin(async { Ok(()) })));
    let uri: http::Uri = format!("{}/issue/4000-7/?api_key=k", api.url())
        .parse()
        .unwrap();
    let prepared = http
        .prepare(&http::Method::GET, &uri, &HeaderMap::new(), None)
        .unwrap();
    let send = |conditional: &HeaderMap| {
        let (uri, conditional) = (uri.clone(), conditional.clone());
        async move { get_uri(&uri, &conditional).await.map_err(BoxError::from) }
    };
    let served_by = |outcome: Outcome<_, _>| match outcome {
        Outcome::Served(response) => response.served_by(),
        other => panic!("expected an answer through the stores, got {other:?}"),
    };
    let first = served_by(http.execute_with(&prepared, send).await);
    assert_eq!(first, Some(ServedBy::Upstream));

    clock.advance(Duration::from_secs(120));
    api.answer_next(503, 1);
    let again = served_by(http.execute_with(&prepared, send).await);
    assert_eq!(again, Some(ServedBy::Revalidated));
    assert_eq!(
        (
            api.full_requests(),
            api.conditional_requests(),
            api.not_modified()
        ),
        (1, 2, 1),
        "the 503 and the retry both conditional"
    );
}

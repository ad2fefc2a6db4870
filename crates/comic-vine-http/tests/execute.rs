//! `HttpPipeline::execute`/`execute_with` against a real HTTP server on 127.0.0.1: what
//! is stored, `Vary`, retries through the rate limiter, oversized and hostile answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use comic_vine_http::{
    CachedResponse, HttpPipeline, Outcome, ResponseExt as _, RetryPolicy, rate_limit_hook,
};
use comic_vine_store::memory::{MemoryCacheStore, MemoryRateLimitStore};
use comic_vine_store::pipeline::{Pipeline, ServedBy};
use comic_vine_store::{MAX_VALUE_BYTES, RateLimit, RateLimitConfig};
use http::{HeaderMap, Method};

mod support;
use support::{Scripted, get_with};

fn pipeline() -> HttpPipeline {
    HttpPipeline::new(Arc::new(
        Pipeline::<CachedResponse>::builder()
            .cache(Arc::new(MemoryCacheStore::new()))
            .build(),
    ))
}

/// What one call came to: who answered (`None`: passed through unchanged), the status
/// and the body.
#[derive(Debug, PartialEq)]
struct Got {
    by: Option<ServedBy>,
    status: u16,
    body: String,
}

type Answer = Result<http::Response<String>, std::io::Error>;

fn got(outcome: Outcome<http::Response<String>, comic_vine_http::BoxError>) -> Got {
    match outcome {
        Outcome::Served(r) => Got {
            by: r.served_by(),
            status: r.status().as_u16(),
            body: String::from_utf8_lossy(r.body()).into_owned(),
        },
        Outcome::Upstream(Ok(r)) => Got {
            by: None,
            status: r.status().as_u16(),
            body: r.into_body(),
        },
        Outcome::Upstream(Err(e)) => panic!("transport error {e}"),
        Outcome::Failed(e) => panic!("failed: {e}"),
    }
}

async fn call(http: &HttpPipeline, server: &Scripted, headers: &HeaderMap) -> Got {
    let prepared = http
        .prepare(&Method::GET, &server.uri("/api/issues/"), headers, None)
        .unwrap();
    let upstream = async {
        get_with(server.addr, headers)
            .await
            .map_err(|e| Box::new(e) as comic_vine_http::BoxError)
    };
    got(http.execute(&prepared, upstream).await)
}

/// A GET of `/api/issues/` through `execute_with` (each attempt sent anew, plain).
async fn call_with(http: &HttpPipeline, server: &Scripted) -> Got {
    let none = HeaderMap::new();
    let prepared = http
        .prepare(&Method::GET, &server.uri("/api/issues/"), &none, None)
        .unwrap();
    let send = |_: &HeaderMap| async { boxed(get_with(server.addr, &none).await) };
    got(http.execute_with(&prepared, send).await)
}

fn boxed(a: Answer) -> Result<http::Response<String>, comic_vine_http::BoxError> {
    a.map_err(|e| Box::new(e) as comic_vine_http::BoxError)
}

#[tokio::test]
async fn a_plain_200_is_cached_and_a_503_is_passed_through_once() {
    let http = pipeline();
    let server = Scripted::list(vec!["200 OK"]).await;
    let none = HeaderMap::new();
    assert_eq!(
        call(&http, &server, &none).await.by,
        Some(ServedBy::Upstream)
    );
    assert_eq!(call(&http, &server, &none).await.by, Some(ServedBy::Cache));
    assert_eq!(server.requests(), 1);

    let failing = Scripted::list(vec!["503 Service Unavailable", "200 OK"]).await;
    let g = call(&http, &failing, &none).await;
    assert_eq!((g.by, g.status), (None, 503));
    assert_eq!(failing.requests(), 1, "execute makes one attempt");
}

#[tokio::test]
async fn unstorable_or_unknowable_answers_pass_through_uncached() {
    for cc in [
        "no-store",
        "private, max-age=60",
        "max-age=soon",
        "max-age=60, max-age=120",
        "no-cache",
        "max-age=0",
    ] {
        let http = pipeline();
        let answer = format!("200 OK\r\ncache-control: {cc}");
        let server = Scripted::start(move |_, _| answer.clone()).await;
        for _ in 0..2 {
            let g = call(&http, &server, &HeaderMap::new()).await;
            assert_eq!((g.by, g.status, g.body.as_str()), (None, 200, "ok"), "{cc}");
        }
        assert_eq!(server.requests(), 2, "{cc}");
    }
    let http = pipeline();
    let server = Scripted::list(vec!["200 OK\r\nvary: *"]).await;
    call(&http, &server, &HeaderMap::new()).await;
    call(&http, &server, &HeaderMap::new()).await;
    assert_eq!(server.requests(), 2, "Vary: * is not stored");
    // Hostile but readable: a lifetime clamped to 2^31 s, an invalid Age ignored, a
    // 10 KB ETag left out; the answer is cached.
    let etag = format!("\"{}\"", "e".repeat(10 * 1024));
    let ok = Scripted::start(move |_, _| {
        format!("200 OK\r\ncache-control: max-age=999999999999\r\nage: -3\r\netag: {etag}")
    })
    .await;
    call(&http, &ok, &HeaderMap::new()).await;
    assert_eq!(
        call(&http, &ok, &HeaderMap::new()).await.by,
        Some(ServedBy::Cache)
    );
}

#[tokio::test]
async fn a_stored_answer_is_served_only_to_requests_whose_varied_headers_match() {
    let http = pipeline();
    let server = Scripted::start(|_, head| {
        let variant = head
            .lines()
            .find_map(|l| l.strip_prefix("x-variant: "))
            .unwrap_or("none")
            .to_owned();
        format!("200 OK\r\nvary: X-Variant\r\n\r\n{variant}")
    })
    .await;
    let with = |v: &str| {
        let mut h = HeaderMap::new();
        h.insert("x-variant", v.parse().unwrap());
        h
    };
    let (a, b) = (with("a"), with("b"));
    let first = call(&http, &server, &a).await;
    assert_eq!(
        (first.by, first.body.as_str()),
        (Some(ServedBy::Upstream), "a")
    );
    let other = call(&http, &server, &b).await;
    assert_eq!(
        (other.by, other.body.as_str()),
        (Some(ServedBy::Upstream), "b")
    );
    assert_eq!(server.requests(), 2);
    for (headers, body) in [(&a, "a"), (&b, "b"), (&a, "a")] {
        let g = call(&http, &server, headers).await;
        assert_eq!((g.by, g.body.as_str()), (Some(ServedBy::Cache), body));
    }
    assert_eq!(server.requests(), 2);
    let bare = call(&http, &server, &HeaderMap::new()).await;
    assert_eq!(
        (bare.by, bare.body.as_str()),
        (Some(ServedBy::Upstream), "none")
    );
    assert_eq!(server.requests(), 3);
}

fn quick() -> RetryPolicy {
    RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(5))
}

#[tokio::test]
async fn execute_with_retries_a_503_each_retry_through_the_hook_and_caches_the_200() {
    let grants = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&grants);
    let http = pipeline().retries(
        quick(),
        Arc::new(move |_, _| {
            counted.fetch_add(1, Ordering::Relaxed);
            Box::pin(async { Ok(()) })
        }),
    );
    let server = Scripted::list(vec!["503 Service Unavailable", "200 OK"]).await;
    let g = call_with(&http, &server).await;
    assert_eq!((g.by, g.status), (Some(ServedBy::Upstream), 200));
    assert_eq!((server.requests(), grants.load(Ordering::Relaxed)), (2, 1));
    let again = call_with(&http, &server).await;
    assert_eq!(again.by, Some(ServedBy::Cache));
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_retry_the_rate_limiter_refuses_is_not_sent() {
    let limiter = Arc::new(MemoryRateLimitStore::new(RateLimitConfig::new(
        RateLimit::new(1, Duration::from_secs(3600)).unwrap(),
    )));
    let http = HttpPipeline::new(Arc::new(
        Pipeline::<CachedResponse>::builder()
            .cache(Arc::new(MemoryCacheStore::new()))
            .rate_limit(limiter.clone())
            .build(),
    ))
    .retries(quick(), rate_limit_hook(limiter, Duration::ZERO));
    let server = Scripted::list(vec!["503 Service Unavailable", "200 OK"]).await;
    let none = HeaderMap::new();
    let prepared = http
        .prepare(&Method::GET, &server.uri("/api/issues/"), &none, None)
        .unwrap();
    let outcome = http
        .execute_with(&prepared, |_: &HeaderMap| async {
            boxed(get_with(server.addr, &none).await)
        })
        .await;
    assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn an_answer_too_large_to_store_reaches_the_caller_uncached() {
    let http = pipeline();
    let server =
        Scripted::start(|_, _| format!("200 OK\r\n\r\n{}", "x".repeat(MAX_VALUE_BYTES))).await;
    for _ in 0..2 {
        let g = call(&http, &server, &HeaderMap::new()).await;
        assert_eq!(
            (g.by, g.status, g.body.len()),
            (Some(ServedBy::Upstream), 200, MAX_VALUE_BYTES)
        );
    }
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_304_that_validates_nothing_is_fetched_again_or_passed_to_a_conditional_caller() {
    let http = pipeline();
    let server = Scripted::list(vec!["304 Not Modified", "200 OK"]).await;
    let g = call_with(&http, &server).await;
    assert_eq!((g.by, g.status), (Some(ServedBy::Upstream), 200));
    assert_eq!(server.requests(), 2, "fetched again, unconditionally");

    // The caller's own conditional request: the 304 is for it.
    let mine = Scripted::list(vec!["304 Not Modified"]).await;
    let mut conditional = HeaderMap::new();
    conditional.insert(http::header::IF_NONE_MATCH, "\"v1\"".parse().unwrap());
    let g = call(&http, &mine, &conditional).await;
    assert_eq!((g.by, g.status), (None, 304));
    assert_eq!(mine.requests(), 1);
}

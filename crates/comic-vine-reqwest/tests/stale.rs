//! The stale policy through the reqwest middleware, on the in-memory stores with a
//! manual clock and a real HTTP server on 127.0.0.1: stale-if-error within its window
//! and upstream's error after it; a spent budget answers stale for a key the stores
//! have and `WaitTooLong` for one they have never seen. Answers carry `Age` and
//! `x-served-by`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use comic_vine_reqwest::{CachedResponse, ResponseExt as _, StoreMiddleware};
use comic_vine_store::memory::{MemoryCacheStore, MemoryRateLimitStore};
use comic_vine_store::pipeline::{
    Pipeline, PipelineConfig, PipelineError, ServedBy, StalePolicy, StaleReason,
};
use comic_vine_store::{ManualClock, RateLimit, RateLimitConfig, SharedClock};
use reqwest_middleware::ClientWithMiddleware;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server on 127.0.0.1 answering `200 ok` (no caching headers), or `503` while
/// `down`; it counts the requests.
struct Upstream {
    base: String,
    down: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
}

async fn upstream() -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let down = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicUsize::new(0));
    let (d, r) = (Arc::clone(&down), Arc::clone(&requests));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                    break;
                }
                head.push(byte[0]);
            }
            r.fetch_add(1, Ordering::SeqCst);
            let status = if d.load(Ordering::SeqCst) {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            let answer =
                format!("HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    Upstream {
        base,
        down,
        requests,
    }
}

/// A client over in-memory stores on `clock`, with `limit` calls per hour if given.
fn client(clock: &ManualClock, config: PipelineConfig, limit: Option<u32>) -> ClientWithMiddleware {
    let shared: SharedClock = Arc::new(clock.clone());
    let mut builder = Pipeline::<CachedResponse>::builder()
        .cache(Arc::new(
            MemoryCacheStore::new().with_clock(Arc::clone(&shared)),
        ))
        .clock(Arc::clone(&shared))
        .config(config);
    if let Some(limit) = limit {
        let limits =
            RateLimitConfig::new(RateLimit::new(limit, Duration::from_secs(3600)).unwrap());
        builder = builder.rate_limit(Arc::new(
            MemoryRateLimitStore::new(limits).with_clock(shared),
        ));
    }
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(StoreMiddleware::new(Arc::new(builder.build())))
        .build()
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn stale_if_error_answers_within_its_window_and_the_error_after_it() {
    let clock = ManualClock::starting_now();
    let config = PipelineConfig {
        cache_ttl: Some(Duration::from_secs(10)),
        stale: StalePolicy {
            stale_if_error: Duration::from_secs(60),
            ..StalePolicy::none()
        },
        ..PipelineConfig::default()
    };
    let http = client(&clock, config, None);
    let api = upstream().await;
    let url = format!("{}/api/issues/?offset=1", api.base);
    let first = http.get(&url).send().await.unwrap();
    assert_eq!(header(&first, "x-served-by").as_deref(), Some("upstream"));
    assert_eq!(header(&first, "age").as_deref(), Some("0"));

    api.down.store(true, Ordering::SeqCst);
    clock.advance(Duration::from_secs(30)); // 20 s stale
    let stale = http.get(&url).send().await.unwrap();
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.served_by(), Some(ServedBy::Stale));
    assert_eq!(stale.served().unwrap().stale, Some(StaleReason::Error));
    assert_eq!(header(&stale, "x-served-by").as_deref(), Some("stale"));
    assert_eq!(header(&stale, "age").as_deref(), Some("30"));
    assert_eq!(stale.text().await.unwrap(), "ok");

    clock.advance(Duration::from_secs(50)); // 70 s stale: past the window
    let failed = http.get(&url).send().await.unwrap();
    assert_eq!(failed.status(), 503, "upstream's error reaches the caller");
    assert_eq!(failed.served_by(), None);
    assert_eq!(api.requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_spent_budget_answers_stale_for_a_seen_key_and_wait_too_long_for_a_new_one() {
    let clock = ManualClock::starting_now();
    let config = PipelineConfig {
        cache_ttl: Some(Duration::from_secs(10)),
        max_wait: Duration::ZERO,
        stale: StalePolicy::comic_vine(),
        ..PipelineConfig::default()
    };
    let http = client(&clock, config, Some(1));
    let api = upstream().await;
    let seen = format!("{}/api/issues/?offset=1", api.base);
    let first = http.get(&seen).send().await.unwrap();
    assert_eq!(first.served_by(), Some(ServedBy::Upstream));

    clock.advance(Duration::from_secs(20)); // stale, and the one call an hour is spent
    let stale = http.get(&seen).send().await.unwrap();
    assert_eq!(stale.served_by(), Some(ServedBy::Stale));
    assert_eq!(
        stale.served().unwrap().stale,
        Some(StaleReason::RateLimited)
    );
    assert_eq!(header(&stale, "x-served-by").as_deref(), Some("stale"));
    assert_eq!(header(&stale, "age").as_deref(), Some("20"));

    let unseen = format!("{}/api/issues/?offset=2", api.base);
    let err = http.get(&unseen).send().await.unwrap_err();
    let reqwest_middleware::Error::Middleware(err) = err else {
        panic!("expected a middleware error, got {err:?}");
    };
    assert!(
        matches!(
            err.downcast_ref::<PipelineError>(),
            Some(PipelineError::WaitTooLong { .. })
        ),
        "{err:#}"
    );
    assert_eq!(
        api.requests.load(Ordering::SeqCst),
        1,
        "only the first call"
    );
}

//! The response's RFC 9111 freshness becomes the cache entry's (HttpPipeline's
//! `HttpEntryPolicy`), against a real HTTP server on 127.0.0.1, the stores on a manual
//! clock: `max-age` is the entry's freshness, silence the configured TTL,
//! `stale-if-error` widens the window, `must-revalidate` turns stale serving off, and a
//! `no-cache` answer with validators is stored but never served without going upstream.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_http::{CachedResponse, HttpPipeline, Outcome, ResponseExt as _};
use comic_vine_store::memory::MemoryCacheStore;
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, ServedBy, StaleReason};
use comic_vine_store::{CacheEntry, CacheStore, ManualClock, SharedClock};
use http::{HeaderMap, Method};

mod support;
use support::{Scripted, get_with};

struct Fixture {
    clock: ManualClock,
    cache: Arc<MemoryCacheStore<CachedResponse>>,
    http: HttpPipeline,
}

fn fixture(config: PipelineConfig) -> Fixture {
    let clock = ManualClock::starting_now();
    let shared: SharedClock = Arc::new(clock.clone());
    let cache = Arc::new(MemoryCacheStore::new().with_clock(Arc::clone(&shared)));
    let pipeline = Pipeline::<CachedResponse>::builder()
        .cache(cache.clone())
        .clock(shared)
        .config(config)
        .build();
    Fixture {
        clock,
        cache,
        http: HttpPipeline::new(Arc::new(pipeline)),
    }
}

/// Who answered (`None`: upstream's answer passed through), the status and the `Age`;
/// the request carries the conditional headers the pipeline asks for.
async fn call(f: &Fixture, server: &Scripted) -> (Option<ServedBy>, u16, Option<String>) {
    let headers = HeaderMap::new();
    let prepared = f
        .http
        .prepare(&Method::GET, &server.uri("/api/issues/"), &headers, None)
        .unwrap();
    let upstream = |conditional: &HeaderMap| {
        let conditional = conditional.clone();
        async move {
            get_with(server.addr, &conditional)
                .await
                .map_err(|e| Box::new(e) as comic_vine_http::BoxError)
        }
    };
    match f.http.execute_conditional(&prepared, upstream).await {
        Outcome::Served(r) => {
            let age = r
                .headers()
                .get("age")
                .map(|a| a.to_str().unwrap().to_owned());
            if r.served_by() == Some(ServedBy::Stale) {
                assert_eq!(r.served().unwrap().stale, Some(StaleReason::Error));
            }
            (r.served_by(), r.status().as_u16(), age)
        }
        Outcome::Upstream(Ok(r)) => (None, r.status().as_u16(), None),
        Outcome::Upstream(Err(e)) => panic!("transport error {e}"),
        Outcome::Failed(e) => panic!("failed: {e}"),
    }
}

/// The entry stored for `server`'s resource.
async fn stored(f: &Fixture, server: &Scripted) -> CacheEntry<CachedResponse> {
    let hash = f
        .http
        .request_hash(&server.uri("/api/issues/"), &HeaderMap::new())
        .unwrap();
    f.cache.get_entry(&hash).await.unwrap().expect("an entry")
}

/// How long `entry` was stored fresh for.
fn freshness(entry: &CacheEntry<CachedResponse>) -> Duration {
    entry.fresh_until.saturating_duration_since(entry.stored_at)
}

/// A server answering `first`, then 503 (upstream fails from then on); called once
/// through `f`, then again 60 s later: that second answer.
async fn a_minute_into_failure(
    f: &Fixture,
    first: &'static str,
) -> (Scripted, (Option<ServedBy>, u16, Option<String>)) {
    let server = Scripted::list(vec![first, "503 Service Unavailable"]).await;
    call(f, &server).await;
    f.clock.advance(Duration::from_secs(60));
    let answer = call(f, &server).await;
    (server, answer)
}

#[tokio::test]
async fn max_age_is_the_entry_freshness_and_silence_the_configured_ttl() {
    let config = PipelineConfig {
        cache_ttl: Some(Duration::from_secs(3600)),
        ..PipelineConfig::default()
    };
    let f = fixture(config.clone());
    let server = Scripted::list(vec!["200 OK\r\ncache-control: max-age=60"]).await;
    assert_eq!(call(&f, &server).await.0, Some(ServedBy::Upstream));
    assert_eq!(
        freshness(&stored(&f, &server).await),
        Duration::from_secs(60)
    );
    f.clock.advance(Duration::from_secs(59));
    let (by, _, age) = call(&f, &server).await;
    assert_eq!((by, age.as_deref()), (Some(ServedBy::Cache), Some("59")));
    f.clock.advance(Duration::from_secs(2));
    assert_eq!(call(&f, &server).await.0, Some(ServedBy::Upstream));
    assert_eq!(server.requests(), 2);

    // No caching headers: the configured TTL, as before.
    let f = fixture(config);
    let silent = Scripted::list(vec!["200 OK"]).await;
    call(&f, &silent).await;
    assert_eq!(
        freshness(&stored(&f, &silent).await),
        Duration::from_secs(3600)
    );
}

#[tokio::test]
async fn stale_if_error_directive_serves_stale_and_must_revalidate_does_not() {
    // Upstream answers once, then fails: the configured policy allows no stale answer,
    // the response's `stale-if-error=120` does, for 120 s past its freshness.
    let f = fixture(PipelineConfig::default());
    let (server, (by, status, age)) = a_minute_into_failure(
        &f,
        "200 OK\r\ncache-control: max-age=10, stale-if-error=120",
    )
    .await;
    assert_eq!(
        (by, status, age.as_deref()),
        (Some(ServedBy::Stale), 200, Some("60"))
    );
    f.clock.advance(Duration::from_secs(80));
    assert_eq!(
        call(&f, &server).await,
        (None, 503, None),
        "past the window"
    );

    // The configured stale-if-error window, but the response says must-revalidate.
    let config = PipelineConfig {
        stale: comic_vine_store::pipeline::StalePolicy {
            stale_if_error: Duration::from_secs(600),
            ..Default::default()
        },
        ..PipelineConfig::default()
    };
    let f = fixture(config.clone());
    let (_, strict) =
        a_minute_into_failure(&f, "200 OK\r\ncache-control: max-age=10, must-revalidate").await;
    assert_eq!(strict, (None, 503, None));
    // Without must-revalidate the same configuration answers stale.
    let f = fixture(config);
    let (_, lax) = a_minute_into_failure(&f, "200 OK\r\ncache-control: max-age=10").await;
    assert_eq!(lax.0, Some(ServedBy::Stale));
}

#[tokio::test]
async fn no_cache_with_validators_is_stored_but_every_use_goes_upstream() {
    let f = fixture(PipelineConfig::default());
    let server = Scripted::list(vec!["200 OK\r\ncache-control: no-cache\r\netag: \"v1\""]).await;
    assert_eq!(call(&f, &server).await.0, Some(ServedBy::Upstream));
    let entry = stored(&f, &server).await;
    assert_eq!(
        entry.fresh_until, entry.stored_at,
        "stored stale, for revalidation"
    );
    assert!(entry.stale_until > entry.fresh_until);
    assert_eq!(call(&f, &server).await.0, Some(ServedBy::Upstream));
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_304_validates_only_the_stored_etag() {
    // Stored with ETag "v1" (max-age=0: revalidated on every use); the server answers
    // conditional requests with a 304, first naming W/"v1" (which then replaces the
    // stored ETag, RFC 9111 §4.3.4), then "v2".
    let f = fixture(PipelineConfig::default());
    let server = Scripted::start(|n, head| {
        let head = head.to_ascii_lowercase();
        let sent = if n == 1 { "\"v1\"" } else { "w/\"v1\"" };
        let conditional = head.contains(&format!("if-none-match: {sent}"));
        match (n, conditional) {
            (0, _) => "200 OK\r\ncache-control: max-age=0\r\netag: \"v1\"".to_owned(),
            (_, false) => panic!("request {n} was not conditional: {head}"),
            (1, true) => "304 Not Modified\r\netag: W/\"v1\"\r\n\r\n".to_owned(),
            (_, true) => "304 Not Modified\r\netag: \"v2\"\r\n\r\n".to_owned(),
        }
    })
    .await;
    assert_eq!(call(&f, &server).await.0, Some(ServedBy::Upstream));
    assert_eq!(call(&f, &server).await.0, Some(ServedBy::Revalidated));
    // A 304 for another ETag does not validate the entry: not served from the store.
    let (by, status, _) = call(&f, &server).await;
    assert_eq!((by, status), (None, 304));
    assert_eq!(server.requests(), 3);
}

//! The stale-serving and revalidation scenarios, for every [`Driver`]: on the in-memory
//! stores under a [`ManualClock`] (no sleeps to age an entry), against the stub on
//! 127.0.0.1, counting what reaches it.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_http::{CachedResponse, SERVED_BY_HEADER};
use comic_vine_store::memory::{MemoryCacheStore, MemoryDedupeStore, MemoryRateLimitStore};
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, PipelineError, ServedBy};
use comic_vine_store::pipeline::{StalePolicy, StaleReason};
use comic_vine_store::{ManualClock, RateLimit, RateLimitConfig, SharedClock};
use comic_vine_stub::{StubApi, StubCaching, StubConfig, StubEtag};

use crate::{Answer, Driver, generous_limits};

/// A pipeline over memory stores on `clock` with `config`, and `limit` calls per hour
/// (else out of reach).
pub fn pipeline(
    clock: &ManualClock,
    config: PipelineConfig,
    limit: Option<u32>,
) -> Pipeline<CachedResponse> {
    let shared: SharedClock = Arc::new(clock.clone());
    let limits = match limit {
        Some(n) => RateLimitConfig::new(RateLimit::new(n, Duration::from_secs(3600)).unwrap()),
        None => generous_limits(),
    };
    Pipeline::<CachedResponse>::builder()
        .cache(Arc::new(
            MemoryCacheStore::new().with_clock(Arc::clone(&shared)),
        ))
        .dedupe(Arc::new(
            MemoryDedupeStore::new().with_clock(Arc::clone(&shared)),
        ))
        .rate_limit(Arc::new(
            MemoryRateLimitStore::new(limits).with_clock(Arc::clone(&shared)),
        ))
        .clock(shared)
        .config(config)
        .build()
}

/// The stub answering after `latency` with `caching` headers, limit out of reach.
pub async fn caching_stub(latency: Duration, caching: StubCaching) -> StubApi {
    let config = StubConfig {
        latency,
        limit: 1000,
        ..StubConfig::default()
    };
    StubApi::start_with_caching(config, caching).await.unwrap()
}

/// Settings: fresh for `ttl` unless upstream says otherwise, stale within `stale`.
pub fn config(ttl: Duration, stale: StalePolicy) -> PipelineConfig {
    PipelineConfig {
        cache_ttl: Some(ttl),
        max_wait: Duration::ZERO,
        stale,
        ..PipelineConfig::default()
    }
}

/// Asserts `a` was answered from a stale entry for `reason`, `age` seconds old.
pub fn assert_stale(a: &Answer, reason: StaleReason, age: u64) {
    assert_eq!(
        (a.status.as_u16(), a.served_by),
        (200, Some(ServedBy::Stale))
    );
    assert_eq!(a.served.unwrap().stale, Some(reason), "{a:?}");
    assert_eq!(a.headers[SERVED_BY_HEADER], "stale");
    assert_eq!(a.headers["age"], age.to_string().as_str());
}

/// Asserts `err` is the pipeline's `WaitTooLong`.
pub fn assert_wait_too_long<D: Driver>(err: &D::Error) {
    assert!(
        matches!(
            D::pipeline_error(err),
            Some(PipelineError::WaitTooLong { .. })
        ),
        "{}",
        D::message(err)
    );
}

/// Eight concurrent callers of a key stale within `stale-while-revalidate` are all
/// answered stale at once; one refresh (a conditional request, answered `304`) reaches
/// the stub, and the entry is fresh afterwards.
pub async fn stale_while_revalidate_answers_at_once_and_refreshes_once<D: Driver>() {
    let clock = ManualClock::starting_now();
    let swr = StalePolicy {
        stale_while_revalidate: Duration::from_secs(60),
        ..StalePolicy::none()
    };
    let pipeline = pipeline(&clock, config(Duration::from_secs(60), swr), None);
    let client = D::from_pipeline(pipeline.clone());
    // The refresh takes 300 ms at the stub: the eight callers are answered meanwhile.
    let caching = StubCaching::full(Duration::from_secs(10));
    let api = caching_stub(Duration::from_millis(300), caching).await;
    let url = format!("{}/issues/?api_key=k&offset=1", api.url());
    let first = D::get(&client, &url).await.unwrap();
    assert_eq!(first.served_by, Some(ServedBy::Upstream));

    clock.advance(Duration::from_secs(30)); // 20 s stale
    let answers = crate::get_concurrently::<D>(&vec![client.clone(); 8], &url).await;
    for answer in &answers {
        assert_stale(answer, StaleReason::WhileRevalidate, 30);
        assert_eq!(answer.body, first.body);
    }
    pipeline.refreshes_idle().await;
    assert_eq!(
        (
            api.full_requests(),
            api.conditional_requests(),
            api.not_modified()
        ),
        (1, 1, 1),
        "one refresh, conditional, answered 304"
    );
    let after = D::get(&client, &url).await.unwrap();
    assert_eq!(after.served_by, Some(ServedBy::Cache), "{after:?}");
    assert_eq!(after.headers["age"], "0");
    assert_eq!(api.total_calls(), 2);
}

/// Within `stale-while-revalidate` with the rate-limit budget spent: answered stale,
/// and the background refresh is skipped (it never waits for a slot).
pub async fn a_refresh_is_skipped_when_the_budget_is_spent<D: Driver>() {
    let clock = ManualClock::starting_now();
    let swr = StalePolicy {
        stale_while_revalidate: Duration::from_secs(60),
        ..StalePolicy::none()
    };
    let pipeline = pipeline(&clock, config(Duration::from_secs(10), swr), Some(1));
    let client = D::from_pipeline(pipeline.clone());
    let api = caching_stub(Duration::ZERO, StubCaching::sparse()).await;
    let url = format!("{}/issues/?offset=1", api.url());
    D::get(&client, &url).await.unwrap();
    clock.advance(Duration::from_secs(20));
    let stale = D::get(&client, &url).await.unwrap();
    assert_stale(&stale, StaleReason::WhileRevalidate, 20);
    pipeline.refreshes_idle().await;
    assert_eq!(api.total_calls(), 1, "the refresh found no free slot");
}

/// Stale-if-error: a stale entry answers while the stub fails (within the window), and
/// the stub's error reaches the caller after it.
pub async fn stale_if_error_answers_within_its_window_and_the_error_after_it<D: Driver>() {
    let clock = ManualClock::starting_now();
    let sie = StalePolicy {
        stale_if_error: Duration::from_secs(60),
        ..StalePolicy::none()
    };
    let client = D::from_pipeline(pipeline(&clock, config(Duration::from_secs(10), sie), None));
    let api = caching_stub(Duration::ZERO, StubCaching::sparse()).await;
    let url = format!("{}/issues/?offset=1", api.url());
    let first = D::get(&client, &url).await.unwrap();
    assert_eq!(first.served_by, Some(ServedBy::Upstream));
    assert_eq!(first.headers["age"], "0");

    api.answer_next(503, usize::MAX);
    clock.advance(Duration::from_secs(30)); // 20 s stale
    let stale = D::get(&client, &url).await.unwrap();
    assert_stale(&stale, StaleReason::Error, 30);
    assert_eq!(stale.body, first.body);

    clock.advance(Duration::from_secs(50)); // 70 s stale: past the window
    let failed = D::get(&client, &url).await.unwrap();
    assert_eq!(failed.status, 503, "upstream's error reaches the caller");
    assert_eq!(failed.served_by, None);
    assert_eq!(api.full_requests(), 3);
}

/// A spent budget answers stale for a key the stores have, and `WaitTooLong` for one
/// they have never seen; upstream is called only the first time.
pub async fn a_spent_budget_answers_stale_for_a_seen_key_and_wait_too_long_for_a_new_one<
    D: Driver,
>() {
    let clock = ManualClock::starting_now();
    let policy = config(Duration::from_secs(10), StalePolicy::comic_vine());
    let client = D::from_pipeline(pipeline(&clock, policy, Some(1)));
    let api = caching_stub(Duration::ZERO, StubCaching::sparse()).await;
    let seen = format!("{}/issues/?offset=1", api.url());
    let first = D::get(&client, &seen).await.unwrap();
    assert_eq!(first.served_by, Some(ServedBy::Upstream));

    clock.advance(Duration::from_secs(20)); // stale, and the one call an hour is spent
    let stale = D::get(&client, &seen).await.unwrap();
    assert_stale(&stale, StaleReason::RateLimited, 20);

    let unseen = format!("{}/issues/?offset=2", api.url());
    let err = D::get(&client, &unseen).await.unwrap_err();
    assert_wait_too_long::<D>(&err);
    assert_eq!(api.total_calls(), 1, "only the first call");
}

/// A client fresh for 10 s by default, with Comic Vine's stale windows, on `clock`.
fn comic_vine_client<D: Driver>(clock: &ManualClock) -> D::Client {
    let policy = config(Duration::from_secs(10), StalePolicy::comic_vine());
    D::from_pipeline(pipeline(clock, policy, None))
}

/// `must-revalidate` turns the configured stale serving off: a stale entry is not
/// answered when the stub fails, the failure is.
pub async fn must_revalidate_is_never_served_stale<D: Driver>() {
    let clock = ManualClock::starting_now();
    let client = comic_vine_client::<D>(&clock);
    let caching = StubCaching {
        max_age: Some(Duration::from_secs(10)),
        ..StubCaching::sparse()
    }
    .with_directives("must-revalidate");
    let api = caching_stub(Duration::ZERO, caching).await;
    let url = format!("{}/issues/?offset=1", api.url());
    assert_eq!(
        D::get(&client, &url).await.unwrap().served_by,
        Some(ServedBy::Upstream)
    );
    api.answer_next(503, usize::MAX);
    clock.advance(Duration::from_secs(20));
    let failed = D::get(&client, &url).await.unwrap();
    assert_eq!((failed.status.as_u16(), failed.served_by), (503, None));
    assert_eq!(api.full_requests(), 2);
}

/// `no-store` is never stored, so never served stale either: every request reaches the
/// stub, and its failure reaches the caller.
pub async fn no_store_is_not_kept_to_serve_stale<D: Driver>() {
    let clock = ManualClock::starting_now();
    let client = comic_vine_client::<D>(&clock);
    let api = caching_stub(
        Duration::ZERO,
        StubCaching::sparse().with_directives("no-store"),
    )
    .await;
    let url = format!("{}/issues/?offset=1", api.url());
    for _ in 0..2 {
        let answer = D::get(&client, &url).await.unwrap();
        assert_eq!((answer.status.as_u16(), answer.served_by), (200, None));
    }
    api.answer_next(503, usize::MAX);
    let failed = D::get(&client, &url).await.unwrap();
    assert_eq!((failed.status.as_u16(), failed.served_by), (503, None));
    assert_eq!(api.full_requests(), 3);
}

/// A `304` applies its own freshness (RFC 9111 §4.3.4): an entry stored with
/// `max-age=1`, revalidated by a `304` with `max-age=600`, is fresh for 600 s after.
pub async fn a_304_applies_its_own_max_age<D: Driver>() {
    let clock = ManualClock::starting_now();
    let pipeline = pipeline(
        &clock,
        config(Duration::from_secs(60), StalePolicy::none()),
        None,
    );
    let client = D::from_pipeline(pipeline);
    let api = caching_stub(Duration::ZERO, StubCaching::full(Duration::from_secs(1))).await;
    let url = format!("{}/issues/?offset=1", api.url());
    let first = D::get(&client, &url).await.unwrap();
    assert_eq!(first.served_by, Some(ServedBy::Upstream));

    api.set_caching(StubCaching::full(Duration::from_secs(600)));
    // Past the dedupe store's memory of the first call's job, too.
    clock.advance(Duration::from_secs(30));
    let revalidated = D::get(&client, &url).await.unwrap();
    assert_eq!(revalidated.served_by, Some(ServedBy::Revalidated));
    assert_eq!(revalidated.body, first.body);
    assert_eq!(revalidated.headers["etag"], first.headers["etag"]);
    for (advance, at) in [(100, 130), (490, 620)] {
        clock.advance(Duration::from_secs(advance));
        let hit = D::get(&client, &url).await.unwrap();
        assert_eq!(hit.served_by, Some(ServedBy::Cache), "at {at} s");
    }
    assert_eq!((api.conditional_requests(), api.not_modified()), (1, 1));
    assert_eq!(api.full_requests(), 1);
}

/// A `304` to a request that was not conditional (nothing stored) validates nothing:
/// the caller does not get it; the request is fetched again, unconditionally, through
/// the rate limiter (two slots of the two an hour: a third key is refused).
pub async fn a_304_that_validates_nothing_is_fetched_again_unconditionally<D: Driver>() {
    let clock = ManualClock::starting_now();
    let policy = config(Duration::from_secs(60), StalePolicy::none());
    let client = D::from_pipeline(pipeline(&clock, policy, Some(2)));
    let api = caching_stub(Duration::ZERO, StubCaching::sparse()).await;
    api.answer_next(304, 1);
    let url = |offset: u32| format!("{}/issues/?offset={offset}", api.url());
    let answer = D::get(&client, &url(1)).await.unwrap();
    assert_eq!(
        (answer.status.as_u16(), answer.served_by),
        (200, Some(ServedBy::Upstream))
    );
    assert!(answer.body.contains("\"results\""), "{}", answer.body);
    assert_eq!((api.full_requests(), api.conditional_requests()), (2, 0));
    let refused = D::get(&client, &url(2)).await.unwrap_err();
    assert_wait_too_long::<D>(&refused);
    assert_eq!(api.full_requests(), 2);
}

/// A `304` refreshes the stored headers and validators (RFC 9111 §4.3.4), not only the
/// entry's times: an entry stored with `Last-Modified` only and `content-language: en`,
/// revalidated by a `304` carrying `ETag: "v2"` and `content-language: fr`, is then
/// served from the cache (no upstream call) with the new header and `ETag`, and its next
/// revalidation sends `If-None-Match: "v2"`.
pub async fn a_304_refreshes_the_stored_headers_and_validators<D: Driver>() {
    let clock = ManualClock::starting_now();
    let policy = config(Duration::from_secs(60), StalePolicy::none());
    let client = D::from_pipeline(pipeline(&clock, policy, None));
    let ten = Duration::from_secs(10);
    let dated = StubCaching::full(ten).with_etag(StubEtag::None);
    let api = caching_stub(Duration::ZERO, dated.with_header("content-language", "en")).await;
    let url = format!("{}/issues/?offset=1", api.url());
    let first = D::get(&client, &url).await.unwrap();
    assert_eq!(first.served_by, Some(ServedBy::Upstream));
    assert_eq!(first.headers["content-language"], "en");
    assert!(first.headers.get("etag").is_none(), "{first:?}");

    let v2 = StubCaching::full(ten).with_etag(StubEtag::Fixed("\"v2\"".into()));
    api.set_caching(v2.with_header("content-language", "fr"));
    // Past max-age, and the dedupe store's memory of the first call's job.
    clock.advance(Duration::from_secs(30));
    let revalidated = D::get(&client, &url).await.unwrap();
    assert_eq!(revalidated.served_by, Some(ServedBy::Revalidated));
    assert_eq!(revalidated.headers["content-language"], "fr");
    assert_eq!(
        api.if_none_match_sent(),
        Vec::<String>::new(),
        "by date only"
    );

    let hit = D::get(&client, &url).await.unwrap();
    assert_eq!(hit.served_by, Some(ServedBy::Cache), "{hit:?}");
    assert_eq!(hit.headers["content-language"], "fr", "the stored header");
    assert_eq!(hit.headers["etag"], "\"v2\"");
    assert_eq!(hit.body, first.body);
    assert_eq!((api.full_requests(), api.conditional_requests()), (1, 1));

    clock.advance(Duration::from_secs(30));
    let again = D::get(&client, &url).await.unwrap();
    assert_eq!(again.served_by, Some(ServedBy::Revalidated));
    assert_eq!(api.if_none_match_sent(), ["\"v2\""], "the stored ETag");
    assert_eq!(
        (
            api.full_requests(),
            api.conditional_requests(),
            api.not_modified()
        ),
        (1, 2, 2)
    );
}

/// A `304` whose merged headers are over the metadata limit (16 KiB) is not refused:
/// the entry is rewritten whole with them, and the next hit serves them.
pub async fn a_304_with_headers_over_the_meta_limit_rewrites_the_entry<D: Driver>() {
    let clock = ManualClock::starting_now();
    let policy = config(Duration::from_secs(60), StalePolicy::none());
    let client = D::from_pipeline(pipeline(&clock, policy, None));
    let full = StubCaching::full(Duration::from_secs(10));
    let api = caching_stub(Duration::ZERO, full.clone()).await;
    let url = format!("{}/issues/?offset=1", api.url());
    let first = D::get(&client, &url).await.unwrap();
    assert_eq!(first.served_by, Some(ServedBy::Upstream));

    let long = "x".repeat(comic_vine_store::cache::MAX_META_BYTES);
    api.set_caching(full.with_header("content-language", &long));
    clock.advance(Duration::from_secs(30));
    let revalidated = D::get(&client, &url).await.unwrap();
    assert_eq!(revalidated.served_by, Some(ServedBy::Revalidated));
    let hit = D::get(&client, &url).await.unwrap();
    assert_eq!(hit.served_by, Some(ServedBy::Cache), "{:?}", hit.served);
    assert_eq!(hit.headers["content-language"], long.as_str());
    assert_eq!(hit.body, first.body);
    assert_eq!((api.full_requests(), api.conditional_requests()), (1, 1));
}

//! The scenarios on the in-memory stores, for every [`Driver`].

use std::sync::Arc;
use std::time::Duration;

use comic_vine_http::SERVED_BY_HEADER;
use comic_vine_store::RateLimitStore;
use comic_vine_store::memory::{MemoryCacheStore, MemoryDedupeStore, MemoryRateLimitStore};
use comic_vine_store::pipeline::{PipelineConfig, PipelineError, ServedBy};

use crate::{Driver, Stores, cooldown_config, cooldown_stub, generous_limits, stub};

/// A fresh memory cache and dedupe over `limiter`.
pub fn stores(limiter: Arc<dyn RateLimitStore>) -> Stores {
    Stores {
        cache: Arc::new(MemoryCacheStore::new()),
        dedupe: Arc::new(MemoryDedupeStore::new()),
        limiter,
    }
}

/// A client on fresh memory stores, limit out of reach, default pipeline settings.
pub fn client<D: Driver>() -> D::Client {
    let limiter = Arc::new(MemoryRateLimitStore::new(generous_limits()));
    D::client(stores(limiter), PipelineConfig::default())
}

/// Eight clones of one client GET the same URL at once: one upstream call, some join it.
pub async fn eight_concurrent_identical_gets_make_one_upstream_call<D: Driver>() {
    let api = stub(Duration::from_millis(200)).await;
    let clients = vec![client::<D>(); 8];
    let url = format!("{}/issues/?api_key=k&format=json&limit=100", api.url());
    let answers = crate::get_concurrently::<D>(&clients, &url).await;
    crate::assert_one_upstream_call_shared(&api, &answers);
    assert!(
        answers
            .iter()
            .any(|a| a.served_by == Some(ServedBy::DedupeJoin)),
        "the 200 ms upstream call overlaps the others: some join it ({answers:?})"
    );
}

/// The API key and the parameter order do not split the cache; another value does.
pub async fn the_api_key_and_the_parameter_order_do_not_split_the_cache<D: Driver>() {
    let api = stub(Duration::ZERO).await;
    let client = client::<D>();
    let url = |query: &str| format!("{}/issues/?{query}", api.url());
    let first = D::get(&client, &url("api_key=A&format=json&limit=5&offset=10"))
        .await
        .unwrap();
    assert_eq!(first.served_by, Some(ServedBy::Upstream));
    assert_eq!(first.headers[SERVED_BY_HEADER], "upstream");
    for query in [
        "offset=10&limit=5&format=json&api_key=B",
        "format=json&offset=10&limit=5",
        "limit=5&API_KEY=C&offset=10&format=json",
    ] {
        let again = D::get(&client, &url(query)).await.unwrap();
        assert_eq!(again.served_by, Some(ServedBy::Cache), "{query}");
        assert_eq!(again.headers[SERVED_BY_HEADER], "cache");
        assert_eq!(again.headers["content-type"], "application/json");
        assert_eq!(again.body, first.body, "{query}");
    }
    assert_eq!(api.calls_to("issues"), 1);
    // Any other parameter value is another request.
    let other = D::get(&client, &url("api_key=A&format=json&limit=5&offset=20"))
        .await
        .unwrap();
    assert_eq!(other.served_by, Some(ServedBy::Upstream));
    assert_eq!(api.calls_to("issues"), 2);
}

/// A 404 reaches the caller unchanged and is not cached; a found object of the same
/// resource is.
pub async fn a_404_reaches_the_caller_unchanged_and_is_not_cached<D: Driver>() {
    let api = stub(Duration::ZERO).await;
    let client = client::<D>();
    let url = format!("{}/issue/4000-0/?api_key=k&format=json", api.url());
    for calls in 1..=2 {
        let answer = D::get(&client, &url).await.unwrap();
        assert_eq!(answer.status, 404);
        assert_eq!(answer.served_by, None);
        assert!(answer.body.contains("Object Not Found"), "{}", answer.body);
        assert_eq!(api.calls_to("issue"), calls);
    }
    let found = format!("{}/issue/4000-1/?api_key=k&format=json", api.url());
    for served_by in [ServedBy::Upstream, ServedBy::Cache] {
        let answer = D::get(&client, &found).await.unwrap();
        assert_eq!(
            (answer.status.as_u16(), answer.served_by),
            (200, Some(served_by))
        );
    }
    assert_eq!(api.calls_to("issue"), 3);
}

/// Four callers of a failing call: the owner gets the 404, the three that joined a typed
/// upstream error, and upstream is called once.
pub async fn callers_that_joined_a_failed_call_get_a_typed_error_not_another_call<D: Driver>() {
    let api = stub(Duration::from_millis(200)).await;
    let client = client::<D>();
    let url = format!("{}/issue/4000-0/", api.url());
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move { D::get(&client, &url).await })
        })
        .collect();
    let (mut not_found, mut joined_failed) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(answer) if answer.status == 404 => not_found += 1,
            Err(e) if matches!(D::pipeline_error(&e), Some(PipelineError::JoinedFailed(m)) if m.contains("404")) => {
                joined_failed += 1
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((not_found, joined_failed), (1, 3));
    assert_eq!(api.calls_to("issue"), 1);
}

/// Three clients, each with its own pipeline and cache, sharing one limiter store: a 420
/// cools the resource down for all of them.
pub async fn cooldown_shared_between_pipelines<D: Driver>(retry_after: bool) {
    let api = cooldown_stub(retry_after).await;
    let limiter: Arc<dyn RateLimitStore> = Arc::new(MemoryRateLimitStore::new(generous_limits()));
    let with_max_wait = |max_wait| {
        D::client(
            stores(Arc::clone(&limiter)),
            cooldown_config(retry_after, max_wait),
        )
    };
    crate::assert_420_cools_down_the_resource_for_other_clients::<D>(
        &api,
        retry_after,
        with_max_wait,
    )
    .await;
}

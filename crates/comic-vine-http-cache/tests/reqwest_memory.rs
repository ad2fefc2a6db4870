//! `http-cache-reqwest` on the in-memory store, against the stub API.

mod support;

use std::sync::Arc;
use std::time::Duration;

use comic_vine_http_cache::{HttpCacheEntry, StoreCacheManager};
use comic_vine_store::CacheStore;
use comic_vine_store::memory::MemoryCacheStore;
use http_cache_reqwest::{Cache, CacheMode, HttpCache, HttpCacheOptions};
use support::{client, get, stub};

#[tokio::test]
async fn a_second_request_is_served_from_the_store() {
    let api = stub().await;
    let store = Arc::new(MemoryCacheStore::<HttpCacheEntry>::new());
    let url = format!("{}/issue/4000-7/?format=json", api.url());

    let first = get(&client(store.clone()), &url).await;
    assert_eq!(first.0, 200);
    assert_eq!(api.total_calls(), 1);
    assert_eq!(store.stats().await.unwrap().entries, 1);

    // Another client (another "process") on the same store: no upstream call.
    let second = get(&client(store.clone()), &url).await;
    assert_eq!(second, first);
    assert_eq!(api.total_calls(), 1, "the second request reached the stub");
}

#[tokio::test]
async fn different_urls_are_different_entries() {
    let api = stub().await;
    let store = Arc::new(MemoryCacheStore::<HttpCacheEntry>::new());
    let c = client(store.clone());
    let one = get(&c, &format!("{}/issue/4000-1/", api.url())).await;
    let two = get(&c, &format!("{}/issue/4000-2/", api.url())).await;
    assert_ne!(one.1, two.1);
    assert_eq!(get(&c, &format!("{}/issue/4000-1/", api.url())).await, one);
    assert_eq!(api.total_calls(), 2);
    assert_eq!(store.stats().await.unwrap().entries, 2);
}

#[tokio::test]
async fn a_response_without_freshness_and_no_stale_retention_is_not_kept() {
    let api = stub().await;
    let store = Arc::new(MemoryCacheStore::<HttpCacheEntry>::new());
    let manager = StoreCacheManager::new(store.clone()).with_stale_retention(Duration::ZERO);
    let c = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(Cache(HttpCache {
            mode: CacheMode::Default,
            manager,
            options: HttpCacheOptions::default(), // no default_ttl: the policy's TTL is 0
        }))
        .build();
    let url = format!("{}/issue/4000-3/", api.url());
    assert_eq!(get(&c, &url).await.0, 200);
    assert_eq!(
        store.stats().await.unwrap().entries,
        0,
        "a zero TTL stores nothing"
    );
    assert_eq!(get(&c, &url).await.0, 200);
    assert_eq!(api.total_calls(), 2);
}

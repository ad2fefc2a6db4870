//! Shared by the integration tests: a caching reqwest client on a store, and the stub.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use comic_vine_http_cache::{HttpCacheEntry, StoreCacheManager};
use comic_vine_store::CacheStore;
use comic_vine_stub::{StubApi, StubConfig};
use http_cache_reqwest::{Cache, CacheMode, HttpCache, HttpCacheOptions};
use reqwest_middleware::ClientWithMiddleware;

/// A stub API on 127.0.0.1 with Comic Vine's limits.
pub async fn stub() -> StubApi {
    StubApi::start(StubConfig::default())
        .await
        .expect("stub starts")
}

/// An `http-cache-reqwest` client (standard HTTP caching rules) on `store`. The stub
/// sends no `Cache-Control`, so responses get http-cache's `default_ttl` of one minute.
pub fn client(store: Arc<dyn CacheStore<HttpCacheEntry>>) -> ClientWithMiddleware {
    let options = HttpCacheOptions {
        default_ttl: Some(Duration::from_secs(60)),
        ..HttpCacheOptions::default()
    };
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(Cache(HttpCache {
            mode: CacheMode::Default,
            manager: StoreCacheManager::new(store),
            options,
        }))
        .build()
}

/// GETs `url`; the status and body.
pub async fn get(client: &ClientWithMiddleware, url: &str) -> (u16, Vec<u8>) {
    let res = client.get(url).send().await.expect("request succeeds");
    let status = res.status().as_u16();
    (status, res.bytes().await.expect("body").to_vec())
}

//! Entries round-trip exactly through a store: any body bytes, headers and policy.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use comic_vine_http_cache::{HttpCacheEntry, StoreCacheManager};
use comic_vine_store::CacheStore;
use comic_vine_store::memory::MemoryCacheStore;
use http_cache::{CacheManager, HttpHeaders, HttpResponse, HttpVersion, Url};
use http_cache_semantics::CachePolicy;
use proptest::prelude::*;

fn policy(max_age: u32) -> CachePolicy {
    let req = http::Request::get("http://127.0.0.1/x").body(()).unwrap();
    let res = http::Response::builder()
        .header("cache-control", format!("max-age={max_age}"))
        .body(())
        .unwrap();
    CachePolicy::new(&req, &res)
}

fn response(body: Vec<u8>, headers: HashMap<String, Vec<String>>, status: u16) -> HttpResponse {
    HttpResponse {
        body,
        headers: HttpHeaders::Modern(headers),
        status,
        url: Url::parse("http://127.0.0.1:1/api/issues/?offset=3").unwrap(),
        version: HttpVersion::Http11,
        metadata: Some(vec![0, 255, 7]),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn put_then_get_returns_the_same_response_and_policy(
        body in proptest::collection::vec(any::<u8>(), 0..4096),
        headers in proptest::collection::hash_map(
            "[a-z][a-z0-9-]{0,15}",
            proptest::collection::vec("[ -~]{0,40}", 1..3),
            0..6,
        ),
        status in 200u16..600,
        max_age in 1u32..100_000,
    ) {
        runtime().block_on(async {
            let store = Arc::new(MemoryCacheStore::<HttpCacheEntry>::new());
            let manager = StoreCacheManager::new(store);
            let res = response(body.clone(), headers.clone(), status);
            let pol = policy(max_age);
            let before = serde_json::to_value(&pol).unwrap();
            manager.put("GET:http://127.0.0.1:1/x".into(), res, pol).await.unwrap();
            let (got, got_policy) = manager.get("GET:http://127.0.0.1:1/x").await.unwrap().unwrap();
            prop_assert_eq!(got.body, body);
            prop_assert_eq!(HashMap::from(got.headers), headers);
            prop_assert_eq!(got.status, status);
            prop_assert_eq!(got.metadata, Some(vec![0, 255, 7]));
            prop_assert_eq!(serde_json::to_value(&got_policy).unwrap(), before);
            Ok(())
        })?;
    }

    #[test]
    fn ttl_is_the_policy_ttl_plus_retention_capped(max_age in 0u32..10_000_000, retention in 0u64..1_000_000) {
        let manager = StoreCacheManager::new(Arc::new(MemoryCacheStore::<HttpCacheEntry>::new()))
            .with_stale_retention(Duration::from_secs(retention))
            .with_max_ttl(Duration::from_secs(30 * 24 * 3600));
        let pol = policy(max_age);
        let ttl = manager.ttl_for(&pol, SystemTime::now());
        let expected = (u64::from(max_age) + retention).min(30 * 24 * 3600);
        // The policy's age is measured from its creation: at most a second or so off.
        prop_assert!(ttl.as_secs() <= expected && ttl.as_secs() + 2 >= expected);
        prop_assert!(ttl <= Duration::from_secs(30 * 24 * 3600));
    }
}

#[test]
fn a_corrupt_entry_reads_as_a_miss_and_is_removed() {
    runtime().block_on(async {
        let store = Arc::new(MemoryCacheStore::<HttpCacheEntry>::new());
        let manager = StoreCacheManager::new(store.clone());
        manager
            .put(
                "k".into(),
                response(b"{}".to_vec(), HashMap::new(), 200),
                policy(60),
            )
            .await
            .unwrap();
        let key = manager.store_key("k");
        let mut entry = store.get(&key).await.unwrap().unwrap();
        entry.body = "not base64!".into();
        store.set(&key, &entry, None).await.unwrap();
        assert!(manager.get("k").await.unwrap().is_none());
        assert!(
            store.get(&key).await.unwrap().is_none(),
            "the corrupt entry is removed"
        );
    });
}

#[test]
fn long_cache_keys_fit_the_store_key_limit() {
    let manager = StoreCacheManager::new(Arc::new(MemoryCacheStore::<HttpCacheEntry>::new()));
    let long = format!("GET:http://127.0.0.1/{}", "a".repeat(10_000));
    let key = manager.store_key(&long);
    assert!(key.len() <= comic_vine_store::validate::MAX_KEY_BYTES);
    assert_ne!(key, manager.store_key("GET:http://127.0.0.1/b"));
}

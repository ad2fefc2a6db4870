//! `purge_resource` on DynamoDB Local, counted by DynamoDB operation through a proxy:
//! it Queries its resource's 16 partitions and no others (never a Scan), so its
//! requests do not grow with another resource's entries; the resource registry costs
//! one write per resource per table handle.

use comic_vine_dynamodb_store::StoreControls;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use comic_vine_dynamodb_store::{DynamoDbCacheStore, DynamoDbConfig, Table};
use comic_vine_store::cache::resource_key;
use comic_vine_store::conformance::Setup;
use comic_vine_store::pipeline::{Pipeline, Request, ServedBy};
use comic_vine_store::{CacheStore, DedupeConfig};
use serde_json::{Value, json};

use super::backend::DynamoBackend;
use super::fault_proxy::FaultProxy;
use super::stores::cache_and_dedupe;

const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

async fn through(proxy: &FaultProxy, backend: &DynamoBackend) -> Table {
    DynamoDbConfig::builder()
        .table_name(backend.table.name())
        .endpoint(proxy.endpoint())
        .build()
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn key(resource: &str, i: usize) -> String {
    resource_key(resource, &format!("{i:064x}"))
}

/// The operations sent since `before`.
fn since(proxy: &FaultProxy, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    proxy
        .operations()
        .into_iter()
        .map(|(op, n)| {
            let d = n - before.get(&op).copied().unwrap_or(0);
            (op, d)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

async fn fill(cache: &DynamoDbCacheStore<Value>, resource: &str, range: std::ops::Range<usize>) {
    for i in range {
        cache.set(&key(resource, i), &json!(i), HOUR).await.unwrap();
    }
}

#[tokio::test]
async fn a_purge_queries_only_its_resource_partitions() {
    let backend = DynamoBackend::fresh().await;
    let proxy = FaultProxy::start(super::local().endpoint()).await;
    let cache: DynamoDbCacheStore<Value> =
        DynamoDbCacheStore::new(&through(&proxy, &backend).await);

    let before = proxy.operations();
    fill(&cache, "volumes", 0..5).await;
    fill(&cache, "issues", 0..10).await;
    cache.set("unresourced", &json!("u"), HOUR).await.unwrap();
    let sets = since(&proxy, &before);
    assert_eq!(
        (sets["PutItem"], sets["UpdateItem"], sets.len()),
        (16, 2, 2),
        "one registry write per resource: {sets:?}"
    );
    let before = proxy.operations();
    let units = cache.metrics().read_units;
    assert_eq!(cache.get(&key("volumes", 1)).await.unwrap(), Some(json!(1)));
    assert_eq!(
        since(&proxy, &before),
        BTreeMap::from([("GetItem".to_owned(), 1)])
    );
    assert_eq!(
        cache.metrics().read_units - units,
        1.0,
        "a hit is one read unit"
    );

    let before = proxy.operations();
    assert_eq!(cache.purge_resource("volumes").await.unwrap(), 5);
    let small = since(&proxy, &before);
    assert_eq!(small["Query"], 16, "{small:?}");
    assert!(!small.contains_key("Scan"));

    // Fifteen times the other resource's entries: the same purge sends the same requests.
    fill(&cache, "volumes", 0..5).await;
    fill(&cache, "issues", 10..150).await;
    let before = proxy.operations();
    assert_eq!(cache.purge_resource("volumes").await.unwrap(), 5);
    assert_eq!(since(&proxy, &before), small, "independent of `issues`");
    for i in [0, 149] {
        assert_eq!(cache.get(&key("issues", i)).await.unwrap(), Some(json!(i)));
    }
    assert_eq!(cache.get("unresourced").await.unwrap(), Some(json!("u")));

    // `stats` and `clear` find every partition through the registry (16 + 2 × 16).
    let before = proxy.operations();
    let stats = cache.stats().await.unwrap();
    assert_eq!((stats.entries, stats.unresourced_entries), (151, 1));
    let ops = since(&proxy, &before);
    assert_eq!((ops["GetItem"], ops["Query"]), (1, 48), "{ops:?}");
    assert_eq!(
        cache.cached_resources().await.unwrap().unwrap(),
        ["issues", "volumes"]
    );
    let listing = cache.resource_entries("issues", 3).await.unwrap().unwrap();
    assert_eq!((listing.entries, listing.listed.len()), (150, 3));
    assert_eq!(listing.listed[0].key, key("issues", 0));
    assert_eq!(cache.clear().await.unwrap(), 151);
    assert!(!proxy.operations().contains_key("Scan"), "never a Scan");

    // Another handle (another process) registers once more; a registry write is idempotent.
    let other: DynamoDbCacheStore<Value> =
        DynamoDbCacheStore::new(&through(&proxy, &backend).await);
    let before = proxy.operations();
    fill(&other, "volumes", 0..3).await;
    assert_eq!(since(&proxy, &before)["UpdateItem"], 1);
    assert_eq!(
        cache
            .resource_entries("volumes", 10)
            .await
            .unwrap()
            .unwrap()
            .entries,
        3
    );
}

#[tokio::test]
async fn the_pipeline_caches_under_the_resource_and_a_purge_sends_it_upstream_again() {
    let backend = DynamoBackend::fresh().await;
    let setup = Setup::new();
    let table = backend.handle(&setup).unwrap();
    // Built with the cache: a miss completes its job with the cache entry as its result,
    // which must land where `get` and the purge look.
    let (cache, dedupe) = cache_and_dedupe(&table, DedupeConfig::default());
    let pipeline: Pipeline<Value> = Pipeline::builder()
        .cache(cache.clone())
        .dedupe(Arc::new(dedupe))
        .build();
    let volumes = Request::new("volumes/list", json!({"offset": 0}), "volumes");
    let issues = Request::new("issues/list", json!({"offset": 0}), "issues");
    for request in [&volumes, &issues, &volumes, &issues] {
        pipeline
            .execute(request, || async { Ok(json!("v")) })
            .await
            .unwrap();
    }
    let listing = cache
        .resource_entries("volumes", 10)
        .await
        .unwrap()
        .unwrap();
    let keys: Vec<String> = listing.listed.into_iter().map(|e| e.key).collect();
    assert_eq!(keys, [volumes.hash()]);
    assert!(volumes.hash().starts_with("volumes/"));

    assert_eq!(cache.purge_resource("volumes").await.unwrap(), 1);
    // Within the result grace a request joins the finished job, whose result was the
    // purged entry (see the README); after it, a request owns a new job.
    setup
        .clock
        .advance(setup.dedupe.result_grace + Duration::from_secs(1));
    let served = |r: &Request| {
        let pipeline = &pipeline;
        let r = r.clone();
        async move {
            pipeline
                .execute(&r, || async { Ok(json!("again")) })
                .await
                .unwrap()
                .served_by
        }
    };
    assert_eq!(served(&volumes).await, ServedBy::Upstream, "purged");
    assert_eq!(served(&issues).await, ServedBy::Cache, "kept");
}

#[tokio::test]
async fn an_entry_cached_before_keys_carried_the_resource_is_a_miss_and_counted() {
    let backend = DynamoBackend::fresh().await;
    let table = backend.handle(&Setup::new()).unwrap();
    let cache = Arc::new(DynamoDbCacheStore::<Value>::new(&table));
    let pipeline: Pipeline<Value> = Pipeline::builder().cache(cache.clone()).build();
    let request = Request::new("volumes/list", json!({"offset": 0}), "volumes");
    // What an older release stored: the bare request hash, in `CACHE#<shard>`.
    let legacy = comic_vine_store::hash_request("volumes/list", &json!({"offset": 0}));
    cache.set(&legacy, &json!("old"), HOUR).await.unwrap();
    assert_eq!(cache.stats().await.unwrap().unresourced_entries, 1);

    let answer = pipeline
        .execute(&request, || async { Ok(json!("new")) })
        .await
        .unwrap();
    assert_eq!(
        (answer.served_by, answer.value),
        (ServedBy::Upstream, json!("new"))
    );
    let stats = cache.stats().await.unwrap();
    assert_eq!(
        (stats.entries, stats.unresourced_entries),
        (2, 1),
        "until it expires"
    );
    assert_eq!(
        cache.purge_resource("volumes").await.unwrap(),
        1,
        "the new one"
    );
    assert_eq!(cache.get(&legacy).await.unwrap(), Some(json!("old")));
    assert_eq!(cache.clear().await.unwrap(), 1, "clear still finds it");
}

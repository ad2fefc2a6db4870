//! The whole miss path of one client request, as the pipeline runs it on DynamoDB:
//! cache get (miss), `register_or_join` (owner), `try_acquire` (granted) and
//! `complete_and_cache` of a Comic Vine-shaped response (the job's completion, then the
//! cache entry: the value written once) —
//! beside the hit of the same response (one cache get). The cost report prices these
//! two rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::{
    DynamoDbCacheStore, DynamoDbDedupeStore, DynamoDbRateLimitStore, Table,
};
use comic_vine_store::{CacheStore, DedupeStore, RateLimit, RateLimitConfig, RateLimitStore};
use serde_json::{Value, json};

use super::meter::Cost;
use super::{Workload, cost_of, op};

/// Distinct hit keys.
const KEYS: u64 = 64;
/// Longer than the dedupe result grace plus its margin, so the value is written once.
const TTL: Option<Duration> = Some(Duration::from_secs(3600));
/// The resource every miss acquires, as every Comic Vine call of one kind does.
const RESOURCE: &str = "bench-miss-path";

/// The miss-path row's name for a response of `bytes`.
pub fn miss_row(bytes: usize) -> String {
    format!("miss path {}", size(bytes))
}

/// The hit row's name for a response of `bytes`.
pub fn hit_row(bytes: usize) -> String {
    format!("cache get (hit) {}", size(bytes))
}

/// The row's name for the same hit read eventually consistently.
pub fn eventual_hit_row(bytes: usize) -> String {
    format!("cache get (hit, eventual) {}", size(bytes))
}

fn size(bytes: usize) -> String {
    if bytes.is_multiple_of(1024) {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

/// A Comic Vine list response of at least `bytes` of JSON: issues with varied names,
/// decks, URLs and dates (seeded, so every run stores the same bytes; it compresses
/// about as a real one does, several times, not a hundred).
pub fn comic_vine_response(bytes: usize) -> Value {
    let mut rng = fastrand::Rng::with_seed(bytes as u64);
    let words: Vec<String> = (0..400)
        .map(|_| {
            let len = rng.usize(3..10);
            (0..len).map(|_| rng.lowercase()).collect()
        })
        .collect();
    let phrase = |rng: &mut fastrand::Rng, n: usize| {
        (0..n)
            .map(|_| words[rng.usize(..words.len())].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (mut results, mut total) = (Vec::new(), 0);
    while total < bytes {
        let id = rng.u32(1..999_999);
        let volume = rng.u32(1..99_999);
        let deck_words = rng.usize(8..30);
        let issue = json!({
            "id": id,
            "name": phrase(&mut rng, 3),
            "issue_number": rng.u32(1..900).to_string(),
            "deck": phrase(&mut rng, deck_words),
            "api_detail_url": format!("https://comicvine.gamespot.com/api/issue/4000-{id}/"),
            "site_detail_url": format!("https://comicvine.gamespot.com/issue/4000-{id}/"),
            "image": {"original_url": format!("https://comicvine.gamespot.com/a/uploads/original/{}/{id}.jpg", id % 97)},
            "volume": {"id": volume, "name": phrase(&mut rng, 2),
                       "api_detail_url": format!("https://comicvine.gamespot.com/api/volume/4050-{volume}/")},
            "cover_date": format!("{}-{:02}-01", rng.u32(1960..2025), rng.u32(1..13)),
            "date_added": format!("20{:02}-{:02}-{:02} {:02}:{:02}:00", rng.u32(8..25), rng.u32(1..13),
                                  rng.u32(1..29), rng.u32(0..24), rng.u32(0..60)),
            "aliases": null,
        });
        total += issue.to_string().len() + 1;
        results.push(issue);
    }
    json!({"error": "OK", "limit": 100, "offset": 0, "number_of_page_results": results.len(),
           "status_code": 1, "results": results, "version": "1.0"})
}

/// The response's zstd-compressed size (level 3, as the cache stores it).
pub fn compressed_len(value: &Value) -> usize {
    let json = serde_json::to_vec(value).unwrap_or_default();
    zstd::bulk::compress(&json, 3).map_or(json.len(), |z| z.len().min(json.len()))
}

/// The miss path and the hit of a response of `bytes`.
pub(crate) async fn workloads(table: &Table, bytes: usize) -> anyhow::Result<Vec<Workload>> {
    let value = Arc::new(comic_vine_response(bytes));
    let hits: Arc<DynamoDbCacheStore<Value>> = Arc::new(DynamoDbCacheStore::new(table));
    for i in 0..KEYS {
        hits.set(&format!("bench-path-hit-{i}"), &value, TTL)
            .await?;
    }
    let cache: Arc<DynamoDbCacheStore<Value>> = Arc::new(DynamoDbCacheStore::new(table));
    // Built with the cache: complete_and_cache writes the value once.
    let dedupe: Arc<DynamoDbDedupeStore<Value>> = Arc::new(
        DynamoDbDedupeStore::builder(table)
            .cache(Arc::clone(&cache))
            .build()?,
    );
    // Comic Vine's count (200 per window) over a window short enough that the bench is
    // never refused: a decision writes the same one sub-KB item either way.
    let limits = RateLimitConfig::new(RateLimit::new(200, Duration::from_millis(2))?);
    let limiter = Arc::new(
        DynamoDbRateLimitStore::builder(table)
            .limits(limits)
            .build()?,
    );
    limiter.reset(RESOURCE).await?;
    let run = format!("{:x}", fastrand::u64(..));
    let fresh = Arc::new(AtomicU64::new(0));

    let miss = {
        let (cache, dedupe, limiter) = (cache.clone(), dedupe.clone(), limiter.clone());
        op(move |_| {
            let (cache, dedupe, limiter) = (cache.clone(), dedupe.clone(), limiter.clone());
            let value = Arc::clone(&value);
            let hash = format!("bench-path-{run}-{}", fresh.fetch_add(1, Ordering::Relaxed));
            async move {
                anyhow::ensure!(cache.get(&hash).await?.is_none(), "a fresh hash misses");
                let registration = dedupe.register_or_join(&hash).await?;
                anyhow::ensure!(registration.is_owner(), "a fresh hash must be owned");
                anyhow::ensure!(
                    limiter.try_acquire(RESOURCE).await?.granted,
                    "the miss path's limit is never reached"
                );
                let cache: &dyn CacheStore<Value> = cache.as_ref();
                dedupe
                    .complete_and_cache(&hash, registration.job_id(), &value, cache, TTL)
                    .await?;
                Ok(())
            }
        })
    };
    let miss_cost = cost_of(move || {
        Cost::from(&cache.metrics())
            + Cost::from(&dedupe.metrics())
            + Cost::from(&limiter.metrics())
    });
    // The same entries, also read with eventually consistent GetItems.
    let eventual: Arc<DynamoDbCacheStore<Value>> = Arc::new(
        DynamoDbCacheStore::builder(table)
            .eventually_consistent_reads(true)
            .build()?,
    );
    Ok(vec![
        hit_workload(hit_row(bytes), hits),
        hit_workload(eventual_hit_row(bytes), eventual),
        Workload::new(miss_row(bytes), None, miss, miss_cost),
    ])
}

/// Gets of the written keys through `store`, a row named `name` (no raw baseline).
fn hit_workload(name: String, store: Arc<DynamoDbCacheStore<Value>>) -> Workload {
    let op = {
        let store = Arc::clone(&store);
        op(move |n: u64| {
            let store = Arc::clone(&store);
            async move {
                let key = format!("bench-path-hit-{}", n % KEYS);
                anyhow::ensure!(store.get(&key).await?.is_some(), "a written key hits");
                Ok(())
            }
        })
    };
    Workload::new(
        name,
        None,
        op,
        cost_of(move || Cost::from(&store.metrics())),
    )
}

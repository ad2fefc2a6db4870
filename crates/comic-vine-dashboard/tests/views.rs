//! The cache-by-resource and dedupe views of the JSON API, over the fixture's known keys,
//! cache entries and dedupe jobs: exact values.

mod common;

use std::sync::Arc;

use comic_vine_dashboard::{Dashboard, DashboardOptions, StoreSource};
use comic_vine_store::CacheStore;
use comic_vine_store::memory::{MemoryCacheStore, MemoryDedupeStore};
use common::{get_json, request, start};
use serde_json::json;

#[tokio::test]
async fn cache_by_resource_counts_the_known_keys_entries() {
    let f = start(DashboardOptions::default(), false).await;
    let doc = get_json(&f.dashboard, "/api/cache").await;
    assert_eq!(doc["entries"], 5, "{doc}");
    let by = &doc["by_resource"];
    assert_eq!(
        by,
        &json!({
            "available": true,
            "basis": "known_keys",
            "keys_checked": 6,
            "limit": 20,
            "other_entries": 2,
            "resources": [
                {"resource": "issues", "entries": 2, "bytes": 14},
                {"resource": "volumes", "entries": 1, "bytes": 7},
                {"resource": "characters", "entries": 0, "bytes": 0},
                {"resource": "quiet", "entries": 0, "bytes": 0},
                {"resource": "search", "entries": 0, "bytes": 0},
            ],
        }),
        "{doc}"
    );
}

#[tokio::test]
async fn cache_by_resource_lists_the_stores_own_entries_when_it_can() {
    let cache: Arc<MemoryCacheStore> = Arc::new(MemoryCacheStore::new());
    for (key, value) in [
        ("issues/0a", json!(1)),
        ("issues/0b", json!([1, 2])),
        ("search/0c", json!("s")),
        ("legacy", json!(0)),
    ] {
        cache.set(key, &value, None).await.unwrap();
    }
    let source = StoreSource::new(["issues", "volumes"]).with_cache(cache);
    let d = Dashboard::start(Arc::new(source), DashboardOptions::default())
        .await
        .unwrap();
    let doc = get_json(&d, "/api/cache?limit=1").await;
    let by = &doc["by_resource"];
    assert_eq!(
        (
            &by["basis"],
            &by["limit"],
            &by["keys_checked"],
            &by["other_entries"]
        ),
        (&json!("store"), &json!(1), &json!(0), &json!(1)),
        "{doc}"
    );
    let rows: Vec<_> = by["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let keys: Vec<_> = r["listed"]
                .as_array()
                .map(|l| l.iter().map(|e| e["key"].clone()).collect())
                .unwrap_or_default();
            json!([r["resource"], r["entries"], r["bytes"], keys])
        })
        .collect();
    assert_eq!(
        rows,
        [
            json!(["issues", 2, 6, ["issues/0a"]]),
            json!(["volumes", 0, 0, []]),
            json!(["search", 1, 3, ["search/0c"]]),
        ],
        "the source's resources first, then the store's; one entry listed each"
    );
    assert_eq!(doc["unresourced_entries"], 1);
    let all = get_json(&d, "/api/cache").await;
    assert_eq!(all["by_resource"]["limit"], 20, "the default");
    let listed = all["by_resource"]["resources"][0]["listed"]
        .as_array()
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed[1]["times"]["fresh_until"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn dedupe_lists_the_known_jobs_pending_first() {
    let f = start(DashboardOptions::default(), false).await;
    let doc = get_json(&f.dashboard, "/api/dedupe").await;
    assert_eq!(doc["available"], true, "{doc}");
    assert_eq!(doc["keys_checked"], 6);
    assert_eq!(doc["pending"], 1);
    assert_eq!(doc["finished"], 2);
    let t0 = f.jobs.t0.as_millis();
    let jobs = doc["jobs"].as_array().unwrap();
    let got: Vec<_> = jobs
        .iter()
        .map(|j| {
            json!([
                j["key"],
                j["resource"],
                j["state"],
                j["job_id"],
                j["created_at"],
                j["lease_until"],
                j["finished_at"],
                j["error"],
                j["lease_expired"],
            ])
        })
        .collect();
    let lease = 30_000;
    assert_eq!(
        got,
        vec![
            json!([
                "job-pending",
                "issues",
                "pending",
                f.jobs.pending.as_str(),
                t0,
                t0 + lease,
                null,
                null,
                false
            ]),
            json!([
                "job-failed",
                "search",
                "failed",
                f.jobs.failed.as_str(),
                t0 + 2000,
                t0 + 2000 + lease,
                t0 + 2000,
                "upstream 500",
                false
            ]),
            json!([
                "job-done",
                "volumes",
                "completed",
                f.jobs.done.as_str(),
                t0 + 1000,
                t0 + 1000 + lease,
                t0 + 1000,
                null,
                false
            ]),
        ],
        "{doc}"
    );
    // Ages run on the wall clock, from the (manual) times the jobs carry.
    let now = doc["now"].as_u64().unwrap();
    assert_eq!(jobs[0]["age_ms"].as_u64().unwrap(), now.saturating_sub(t0));
    assert!(jobs[1]["lease_left_ms"].is_null(), "finished: no lease");
    assert_eq!(
        jobs[0]["lease_left_ms"].as_u64().unwrap(),
        (t0 + lease).saturating_sub(now)
    );
}

#[tokio::test]
async fn without_known_keys_the_views_say_what_they_cannot_tell() {
    let source = StoreSource::new(["issues"])
        .with_cache(Arc::new(MemoryCacheStore::new()))
        .with_dedupe(Arc::new(MemoryDedupeStore::new()));
    let d = Dashboard::start(Arc::new(source), DashboardOptions::default())
        .await
        .unwrap();
    let cache = get_json(&d, "/api/cache").await;
    assert_eq!(cache["by_resource"]["available"], false, "{cache}");
    let reason = cache["by_resource"]["reason"].as_str().unwrap();
    assert!(reason.contains("full scan of the store"), "{reason}");
    let dedupe = get_json(&d, "/api/dedupe").await;
    assert_eq!(
        (
            &dedupe["available"],
            &dedupe["keys_checked"],
            &dedupe["jobs"]
        ),
        (&json!(true), &json!(0), &json!([])),
        "{dedupe}"
    );

    let bare = Dashboard::start(
        Arc::new(StoreSource::new(["issues"])),
        DashboardOptions::default(),
    )
    .await
    .unwrap();
    let dedupe = get_json(&bare, "/api/dedupe").await;
    assert_eq!(dedupe["available"], false, "{dedupe}");
    let (status, _) = request(&bare, "GET", "/dedupe", None, &[], "").await;
    assert_eq!(status, 200, "the view's page");
}

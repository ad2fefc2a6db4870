//! The dashboard's HTTP surface on 127.0.0.1, over in-memory stores that a background
//! task keeps granting into: the JSON API, read-only mode, CSRF, path traversal, Host.

mod common;

use std::net::SocketAddr;

use comic_vine_dashboard::{Dashboard, DashboardError, DashboardOptions};
use comic_vine_store::{CacheStore, RateLimitStore};
use common::{QUIET, RESOURCES, get_json, page_token, request, start};
use serde_json::json;

#[tokio::test]
async fn api_reports_every_resource_within_its_limit() {
    let f = start(DashboardOptions::default(), true).await;
    assert!(f.dashboard.url().starts_with("http://127.0.0.1:"));
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let doc = get_json(&f.dashboard, "/api/ratelimits").await;
    let rows = doc["resources"].as_array().unwrap();
    assert_eq!(rows.len(), (RESOURCES.len() + 1) * 2, "{doc}");
    assert_eq!(rows[rows.len() - 1]["resource"], QUIET);
    assert_eq!(rows[rows.len() - 1]["used"], 0);
    for (row, (name, limit)) in rows.chunks(2).zip(RESOURCES) {
        assert_eq!(row[0]["resource"], name);
        assert_eq!(row[0]["limiter"], "plain");
        assert_eq!(row[1]["limiter"], "adaptive");
        for r in row {
            assert_eq!(r["limit"], limit, "{r}");
            let used = r["used"].as_u64().unwrap();
            assert!(used >= 1 && used <= u64::from(limit), "{r}");
            assert_eq!(used + r["remaining"].as_u64().unwrap(), u64::from(limit));
            assert!(r["history"].as_array().unwrap().len() >= 2, "sampled: {r}");
        }
        assert!(
            row[1]["adaptive"]["reason"].as_str().is_some(),
            "{}",
            row[1]
        );
        assert!(row[0]["adaptive"].is_null());
    }
    let overview = get_json(&f.dashboard, "/api/overview").await;
    assert_eq!(overview["cache"]["entries"], 5, "{overview}");
    assert_eq!(overview["circuit"]["state"], "closed");
    assert_eq!(overview["writes_allowed"], false);
    assert_eq!(overview["resources"], RESOURCES.len() + 1);
    assert_eq!(overview["rate_limit_rows"], (RESOURCES.len() + 1) * 2);
    let cache = get_json(&f.dashboard, "/api/cache").await;
    assert_eq!(cache["entries"], 5);
    assert!(cache["approximate_bytes"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn mutations_are_refused_without_allow_writes_and_change_nothing() {
    let f = start(DashboardOptions::default(), false).await;
    assert_eq!(
        page_token(&f.dashboard).await,
        "",
        "a read-only page carries no token"
    );
    for _ in 0..4 {
        f.plain.record(QUIET).await.unwrap();
    }
    for (path, body) in [
        ("/api/ratelimits/reset", r#"{"resource":"quiet"}"#),
        ("/api/cache/delete", r#"{"key":"key-1"}"#),
        ("/api/cache/clear", "{}"),
        ("/api/cache/purge", r#"{"resource":"issues"}"#),
    ] {
        let (status, text) = request(&f.dashboard, "POST", path, None, &[], body).await;
        assert_eq!(status, 403, "{path}: {text}");
    }
    assert_eq!(f.cache.stats().await.unwrap().entries, 5);
    assert!(f.cache.get("key-1").await.unwrap().is_some());
    let quiet = f.plain.status(QUIET).await.unwrap();
    assert_eq!((quiet.remaining, quiet.limit), (6, 10), "window not reset");
}

#[tokio::test]
async fn mutations_with_allow_writes_need_the_page_token() {
    let f = start(DashboardOptions::default().allow_writes(true), false).await;
    let token = page_token(&f.dashboard).await;
    assert_eq!(token.len(), 64);
    let del = r#"{"key":"key-1"}"#;
    let (status, _) = request(&f.dashboard, "POST", "/api/cache/delete", None, &[], del).await;
    assert_eq!(status, 403, "no token");
    let wrong = [("x-csrf-token", "0".repeat(64))];
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _) = request(&f.dashboard, "POST", "/api/cache/delete", None, &wrong, del).await;
    assert_eq!(status, 403, "wrong token");
    assert!(f.cache.get("key-1").await.unwrap().is_some());

    let good = [("x-csrf-token", token.as_str())];
    let (status, body) = request(&f.dashboard, "POST", "/api/cache/delete", None, &good, del).await;
    assert_eq!(status, 200, "{body}");
    assert!(f.cache.get("key-1").await.unwrap().is_none());
    assert!(f.cache.get("key-2").await.unwrap().is_some());

    let evil = [
        ("x-csrf-token", token.as_str()),
        ("origin", "http://evil.example"),
    ];
    let (status, _) = request(&f.dashboard, "POST", "/api/cache/clear", None, &evil, "").await;
    assert_eq!(status, 403, "cross-origin");

    for _ in 0..4 {
        f.plain.record(QUIET).await.unwrap();
    }
    let reset = r#"{"resource":"quiet","limiter":"plain"}"#;
    let (status, body) = request(
        &f.dashboard,
        "POST",
        "/api/ratelimits/reset",
        None,
        &good,
        reset,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(f.plain.status(QUIET).await.unwrap().remaining, 10);

    let unknown = r#"{"resource":"nope"}"#;
    let (status, _) = request(
        &f.dashboard,
        "POST",
        "/api/ratelimits/reset",
        None,
        &good,
        unknown,
    )
    .await;
    assert_eq!(status, 404);
    let bad_key = r#"{"key":"a\u0001b"}"#;
    let (status, body) = request(
        &f.dashboard,
        "POST",
        "/api/cache/delete",
        None,
        &good,
        bad_key,
    )
    .await;
    assert_eq!(status, 400, "a key the store refuses: {body}");
    let big = format!(r#"{{"key":"{}"}}"#, "k".repeat(20_000));
    let (status, _) = request(&f.dashboard, "POST", "/api/cache/delete", None, &good, &big).await;
    assert_eq!(status, 413, "body limit");

    for key in ["issues/0a", "issues/0b", "volumes/0c"] {
        f.cache.set(key, &json!(1), None).await.unwrap();
    }
    let purge =
        |body: &'static str| request(&f.dashboard, "POST", "/api/cache/purge", None, &good, body);
    let (status, body) = purge("{}").await;
    assert_eq!(status, 400, "no resource: {body}");
    let (status, body) = purge(r#"{"resource":""}"#).await;
    assert_eq!(status, 400, "a resource the store refuses: {body}");
    let (status, body) = purge(r#"{"resource":"issues"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({"resource": "issues", "removed": 2})
    );
    assert!(f.cache.get("issues/0a").await.unwrap().is_none());
    assert!(f.cache.get("volumes/0c").await.unwrap().is_some());
    assert!(
        f.cache.get("key-2").await.unwrap().is_some(),
        "unresourced kept"
    );

    let (status, body) = request(&f.dashboard, "POST", "/api/cache/clear", None, &good, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(f.cache.stats().await.unwrap().entries, 0);
}

#[tokio::test]
async fn path_traversal_and_unknown_paths_are_404() {
    let f = start(DashboardOptions::default(), false).await;
    for path in [
        "/../../etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/app.js/../../../etc/passwd",
        "/..\\..\\etc\\passwd",
        "/assets/../Cargo.toml",
        "/src/lib.rs",
        "/app.js%00.html",
        "//etc/passwd",
    ] {
        let (status, body) = request(&f.dashboard, "GET", path, None, &[], "").await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("root:"), "{path}");
    }
    for path in ["/", "/ratelimits", "/app.js", "/chart.js", "/style.css"] {
        assert_eq!(
            request(&f.dashboard, "GET", path, None, &[], "").await.0,
            200,
            "{path}"
        );
    }
}

#[tokio::test]
async fn requests_naming_another_host_are_refused() {
    let f = start(DashboardOptions::default(), false).await;
    let port = f.dashboard.addr().port();
    for host in [
        "evil.example".to_owned(),
        format!("evil.example:{port}"),
        "127.0.0.1".to_owned(),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
    ] {
        let (status, _) = request(&f.dashboard, "GET", "/api/overview", Some(&host), &[], "").await;
        assert_eq!(status, 421, "{host}");
    }
    let local = format!("localhost:{port}");
    let (status, _) = request(&f.dashboard, "GET", "/api/overview", Some(&local), &[], "").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_non_loopback_address_needs_an_explicit_bind() {
    let source = std::sync::Arc::new(comic_vine_dashboard::StoreSource::new(["x"]));
    for addr in ["0.0.0.0:0", "192.0.2.1:8080", "[::]:0"] {
        let addr: SocketAddr = addr.parse().unwrap();
        let err = Dashboard::start(source.clone(), DashboardOptions::default().address(addr))
            .await
            .unwrap_err();
        assert!(
            matches!(err, DashboardError::NotLoopback { addr: a } if a == addr),
            "{err}"
        );
        assert!(err.to_string().contains("not a loopback address"), "{err}");
    }
    // The explicit opt-in (exercised on a loopback address: tests never listen elsewhere).
    let explicit = DashboardOptions::default().bind("127.0.0.1:0".parse().unwrap());
    let d = Dashboard::start(source.clone(), explicit).await.unwrap();
    assert!(d.addr().ip().is_loopback());
    d.shutdown().await;
    let bad = DashboardOptions::default().sample_interval(std::time::Duration::ZERO);
    let err = Dashboard::start(source, bad).await.unwrap_err();
    assert!(matches!(
        err,
        DashboardError::InvalidOption {
            option: "sample_interval",
            ..
        }
    ));
}

/// Random paths (percent-escapes, dots, slashes, backslashes) and random `Host` values
/// against one running server: only the fixed asset paths are served, only the server's
/// own names are answered.
#[test]
fn random_paths_and_hosts_are_refused() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let f = rt.block_on(start(DashboardOptions::default(), false));
    let served = [
        "/",
        "/overview",
        "/ratelimits",
        "/cache",
        "/app.js",
        "/chart.js",
        "/style.css",
    ];
    let config = ProptestConfig {
        cases: 96,
        ..ProptestConfig::default()
    };
    proptest!(config, |(
        path in "/([a-z.]{0,6}|%2[eEfF]|%5[cC]|\\.\\.|/|\\\\|%00|etc|passwd){0,8}",
        host in "[a-z0-9.:\\[\\]-]{0,24}",
    )| {
        let (status, body) = rt.block_on(request(&f.dashboard, "GET", &path, None, &[], ""));
        let want = if served.contains(&path.as_str()) { 200 } else { 404 };
        prop_assert_eq!(status, want, "{} {}", path, body);
        let port = f.dashboard.addr().port();
        let own = [format!("127.0.0.1:{port}"), format!("localhost:{port}")];
        if !host.is_empty() && !own.contains(&host) && http::HeaderValue::from_str(&host).is_ok() {
            let (status, _) =
                rt.block_on(request(&f.dashboard, "GET", "/api/cache", Some(&host), &[], ""));
            prop_assert_eq!(status, 421, "{}", host);
        }
    });
}

/// A source as a CLI writes one: its own grant log is charted instead of the sampled
/// history, and a failing store shows as an error next to the rows that work.
#[tokio::test]
async fn a_source_with_its_own_history_and_a_failing_row() {
    use async_trait::async_trait;
    use comic_vine_dashboard::{DashboardSource, ResourceId, Sample};
    use comic_vine_store::{CacheStats, RateLimitStatus, StoreError, StoreResult, Timestamp};

    struct Fixed;
    #[async_trait]
    impl DashboardSource for Fixed {
        fn resources(&self) -> Vec<ResourceId> {
            vec![ResourceId::plain("logged"), ResourceId::plain("broken")]
        }
        async fn rate_limit_status(&self, id: &ResourceId) -> StoreResult<RateLimitStatus> {
            if id.resource == "broken" {
                return Err(StoreError::invalid_input("resource", "backend says no"));
            }
            Ok(RateLimitStatus {
                remaining: 7,
                limit: 10,
                window: std::time::Duration::from_secs(60),
                reset_at: Timestamp::from_millis(u64::MAX / 2),
                cooldown_until: None,
                adaptive: None,
            })
        }
        async fn cache_stats(&self) -> StoreResult<Option<CacheStats>> {
            Ok(None)
        }
        async fn grant_history(&self, id: &ResourceId) -> StoreResult<Option<Vec<Sample>>> {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as u64;
            Ok((id.resource == "logged").then(|| {
                vec![
                    Sample {
                        at: Timestamp::from_millis(now - 120_000),
                        used: 9,
                    }, // too old
                    Sample {
                        at: Timestamp::from_millis(now - 2_000),
                        used: 1,
                    },
                    Sample {
                        at: Timestamp::from_millis(now - 1_000),
                        used: 3,
                    },
                ]
            }))
        }
        async fn reset(&self, _: &ResourceId) -> StoreResult<()> {
            Ok(())
        }
        async fn delete_cache_entry(&self, _: &str) -> StoreResult<()> {
            Ok(())
        }
        async fn clear_cache(&self) -> StoreResult<u64> {
            Ok(0)
        }
    }

    let d = Dashboard::start(std::sync::Arc::new(Fixed), DashboardOptions::default())
        .await
        .unwrap();
    let doc = get_json(&d, "/api/ratelimits").await;
    let logged = &doc["resources"][0];
    let used: Vec<u64> = logged["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_u64().unwrap())
        .collect();
    assert_eq!(
        used,
        vec![1, 3],
        "the source's log within the history span: {logged}"
    );
    assert_eq!(logged["used"], 3);
    let broken = &doc["resources"][1];
    assert!(
        broken["error"]
            .as_str()
            .unwrap()
            .contains("backend says no"),
        "{broken}"
    );
    assert!(broken.get("limit").is_none());
    let cache = get_json(&d, "/api/cache").await;
    assert_eq!(cache["available"], false);
    d.shutdown().await;
}

/// The cache view's search: one entry with its times, age, freshness and size; 404 for
/// none, 400 for a missing or invalid key.
#[tokio::test]
async fn the_cache_search_finds_one_entry_with_its_times() {
    let f = start(DashboardOptions::default(), false).await;
    f.cache
        .set("issues/4000-1", &json!({"name": "Batman #1"}), None)
        .await
        .unwrap();
    let doc = get_json(&f.dashboard, "/api/cache/entry?key=issues%2F4000-1").await;
    assert_eq!(doc["found"], true, "{doc}");
    assert_eq!(doc["key"], "issues/4000-1");
    assert_eq!(doc["resource"], "issues");
    assert_eq!(doc["fresh"], true);
    assert_eq!(doc["json_bytes"], r#"{"name":"Batman #1"}"#.len());
    let (stored, fresh, expires) = (
        doc["stored_at"].as_u64().unwrap(),
        doc["fresh_until"].as_u64().unwrap(),
        doc["expires_at"].as_u64().unwrap(),
    );
    assert!(stored < fresh && fresh <= expires, "{doc}");
    let old = get_json(&f.dashboard, "/api/cache/entry?key=key-3").await;
    assert_eq!(
        (&old["found"], &old["resource"]),
        (&json!(true), &json!(null))
    );

    let (status, body) = request(
        &f.dashboard,
        "GET",
        "/api/cache/entry?key=issues%2Fnone",
        None,
        &[],
        "",
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains(r#""found":false"#), "{body}");
    for bad in [
        "/api/cache/entry",
        "/api/cache/entry?key=",
        "/api/cache/entry?key=a%01b",
    ] {
        let (status, body) = request(&f.dashboard, "GET", bad, None, &[], "").await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("\"message\""), "{bad}: {body}");
    }
}

/// The overview carries the hits, misses and units the application reports, read anew
/// on every request; a source that reports none says so (`usage: null`).
#[tokio::test]
async fn the_overview_shows_the_usage_the_application_reports() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use comic_vine_dashboard::{StoreSource, UsageView};

    let hits = Arc::new(AtomicU64::new(3));
    let counted = Arc::clone(&hits);
    let source = StoreSource::new(["issues"]).with_usage(Arc::new(move || UsageView {
        scope: "this test's requests".into(),
        hits: Some(counted.load(Ordering::SeqCst)),
        misses: Some(2),
        store_requests: Some(7),
        read_units: Some(4.5),
        write_units: None,
    }));
    let d = Dashboard::start(Arc::new(source), DashboardOptions::default())
        .await
        .unwrap();
    let usage = get_json(&d, "/api/overview").await["usage"].clone();
    assert_eq!(
        usage,
        json!({"scope": "this test's requests", "hits": 3, "misses": 2, "store_requests": 7,
               "read_units": 4.5, "write_units": null})
    );
    hits.store(5, Ordering::SeqCst);
    assert_eq!(get_json(&d, "/api/overview").await["usage"]["hits"], 5);

    let f = start(DashboardOptions::default(), false).await;
    assert!(get_json(&f.dashboard, "/api/overview").await["usage"].is_null());
}

//! The page in a real headless Chromium (Debian's `chromium`, installed by
//! `scripts/chromium.sh install`; `CHROMIUM` names the binary): the rendered DOM of the
//! rate-limit view, two dumps apart, and a screenshot of every view into
//! `target/dashboard-screenshots/`.
//!
//! Skips (loudly) only when no browser can be found and `CI` is not set.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use std::sync::Arc;

use comic_vine_dashboard::{Dashboard, DashboardOptions, StoreSource};
use comic_vine_store::CacheStore;
use comic_vine_store::memory::MemoryCacheStore;
use comic_vine_testkit::chromium;
use common::{QUIET, RESOURCES, page_token, request, start};

/// Visits `url` in headless Chromium with `extra` arguments; returns its stdout.
async fn visit(browser: &Path, profile: &Path, url: &str, extra: &[String]) -> String {
    let mut cmd = tokio::process::Command::from(chromium::headless(
        browser,
        profile,
        chromium::LOOPBACK_ONLY,
    ));
    cmd.arg("--virtual-time-budget=3000")
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().expect("start chromium");
    // A guard against a hung browser, not a timing assertion.
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("chromium did not finish in 60 s")
        .expect("chromium output");
    chromium::stdout_of(&out)
}

/// The values of attribute `name` on every element whose opening tag contains `marker`.
fn attrs(dom: &str, marker: &str, name: &str) -> Vec<String> {
    let needle = format!(" {name}=\"");
    dom.match_indices(marker)
        .filter_map(|(i, _)| {
            let tag_start = dom[..i].rfind('<')?;
            let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>')?];
            let at = tag.find(&needle)? + needle.len();
            Some(tag[at..at + tag[at..].find('"')?].to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_renders_live_rate_limits_and_the_chart() {
    let Some(browser) = chromium::or_skip("the browser test") else {
        return;
    };
    let options = DashboardOptions::default()
        .sample_interval(Duration::from_millis(200))
        .history(Duration::from_secs(20));
    let f = start(options, true).await;
    let profile = tempfile::tempdir().unwrap();
    let page = |view: &str| format!("{}{view}", f.dashboard.url());
    let url = page("ratelimits");
    let dump = ["--dump-dom".to_owned()];

    let first = visit(&browser, profile.path(), &url, &dump).await;
    let rows = attrs(&first, "class=\"resource-row\"", "data-resource");
    let expected: Vec<&str> = RESOURCES
        .iter()
        .map(|(n, _)| *n)
        .chain([QUIET])
        .flat_map(|n| [n, n])
        .collect();
    assert_eq!(rows, expected, "rows of the rate-limit view:\n{first}");
    let used = attrs(&first, "class=\"resource-row\"", "data-used");
    let limit = attrs(&first, "class=\"resource-row\"", "data-limit");
    assert_eq!(used.len(), rows.len());
    for ((u, l), (_, want)) in used
        .iter()
        .zip(&limit)
        .zip(RESOURCES.iter().chain(&[(QUIET, 10)]).flat_map(|r| [r, r]))
    {
        let (u, l): (u32, u32) = (u.parse().unwrap(), l.parse().unwrap());
        assert_eq!(l, *want);
        assert!(u <= l, "used {u} of {l}");
    }
    assert!(
        used.iter().any(|u| u != "0"),
        "the granter's requests show: {used:?}"
    );
    assert!(first.contains("id=\"grant-chart\""), "chart drawn");
    let series = attrs(&first, "class=\"series\"", "data-resource");
    assert_eq!(series, expected, "one series per row");
    let points = attrs(&first, "class=\"series\"", "points");
    assert!(
        points.iter().all(|p| p.split(' ').count() >= 2),
        "{points:?}"
    );
    assert_eq!(
        attrs(&first, "class=\"limit-line\"", "y1").len(),
        1,
        "one limit line"
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    let second = visit(&browser, profile.path(), &url, &dump).await;
    let later = attrs(&second, "class=\"series\"", "points");
    assert_eq!(later.len(), points.len());
    assert_ne!(points, later, "the chart moved between two dumps");

    let overview = visit(&browser, profile.path(), &f.dashboard.url(), &dump).await;
    assert!(
        overview.contains("id=\"ov-entries\">5<"),
        "cache entries:\n{overview}"
    );
    assert!(
        overview.contains("closed (0 failures)"),
        "breaker:\n{overview}"
    );
    assert!(overview.contains(">read-only<"), "mode:\n{overview}");

    // The cache by resource: the fixture's known keys, exact counts and sizes.
    let cache = visit(&browser, profile.path(), &page("cache"), &dump).await;
    let row = "class=\"cache-resource\"";
    assert_eq!(
        attrs(&cache, row, "data-resource"),
        ["issues", "volumes", "characters", "quiet", "search"],
        "cache rows:\n{cache}"
    );
    assert_eq!(
        attrs(&cache, row, "data-entries"),
        ["2", "1", "0", "0", "0"]
    );
    assert_eq!(attrs(&cache, row, "data-bytes"), ["14", "7", "0", "0", "0"]);
    assert!(
        cache.contains("over the 6 request keys") && cache.contains("2 other entries"),
        "the basis is said:\n{cache}"
    );

    // The dedupe jobs: pending first, then the newest finished.
    let dedupe = visit(&browser, profile.path(), &page("dedupe"), &dump).await;
    let job = "class=\"job ";
    assert_eq!(
        attrs(&dedupe, job, "data-key"),
        ["job-pending", "job-failed", "job-done"],
        "job rows:\n{dedupe}"
    );
    assert_eq!(
        attrs(&dedupe, job, "data-state"),
        ["pending", "failed", "completed"]
    );
    assert_eq!(
        attrs(&dedupe, job, "data-resource"),
        ["issues", "search", "volumes"]
    );
    for id in [&f.jobs.pending, &f.jobs.failed, &f.jobs.done] {
        assert!(
            dedupe.contains(&format!(">{id}<")),
            "owner {id} shown:\n{dedupe}"
        );
    }
    assert!(dedupe.contains("failed: upstream 500"), "{dedupe}");
    assert!(
        dedupe.contains("1 pending, 2 recently finished"),
        "{dedupe}"
    );

    store_listing_and_purge(&browser, profile.path()).await;

    let out = chromium::screenshot_dir();
    for view in ["overview", "ratelimits", "cache", "dedupe"] {
        let png = out.join(format!("{view}.png"));
        let args = chromium::screenshot_args(&png);
        visit(&browser, profile.path(), &page(view), &args).await;
        chromium::assert_png(view, &png);
    }
    eprintln!("screenshots in {}", out.display());
}

/// A writable dashboard over a cache that lists its entries by resource: the cache view
/// shows the store's rows, their first entries and a purge button each; a purge with
/// the page's token removes that resource's entries only, and the page shows it.
async fn store_listing_and_purge(browser: &Path, profile: &Path) {
    let cache: Arc<MemoryCacheStore> = Arc::new(MemoryCacheStore::new());
    for key in ["volumes/0a", "volumes/0b", "issues/0c", "legacy"] {
        cache.set(key, &serde_json::json!(1), None).await.unwrap();
    }
    let source = StoreSource::new(["issues"]).with_cache(cache.clone());
    let options = DashboardOptions::default().allow_writes(true);
    let d = Dashboard::start(Arc::new(source), options).await.unwrap();
    let url = format!("{}cache", d.url());
    let dump = ["--dump-dom".to_owned()];
    let row = "class=\"cache-resource\"";

    let before = visit(browser, profile, &url, &dump).await;
    assert_eq!(
        attrs(&before, row, "data-resource"),
        ["issues", "volumes"],
        "the store's resources:\n{before}"
    );
    assert_eq!(attrs(&before, row, "data-entries"), ["1", "2"]);
    assert_eq!(
        attrs(&before, "class=\"cache-entry\"", "data-key"),
        ["issues/0c", "volumes/0a", "volumes/0b"]
    );
    assert_eq!(
        attrs(&before, "class=\"purge\"", "data-resource"),
        ["issues", "volumes"],
        "a purge button per resource"
    );
    assert!(
        before.contains("Listed by the cache store") && before.contains("1 other entries"),
        "the basis is said:\n{before}"
    );

    // The search, as a person uses it from a link: the entry's fields in the page.
    let found = visit(browser, profile, &format!("{url}?key=issues%2F0c"), &dump).await;
    let field = |name: &str| attrs(&found, &format!("data-field=\"{name}\""), "data-value");
    assert_eq!(field("key"), ["issues/0c"], "{found}");
    assert_eq!(field("resource"), ["issues"]);
    assert_eq!(field("state"), ["fresh"]);
    assert_eq!(field("size (JSON)"), ["1 B"]);
    let none = visit(browser, profile, &format!("{url}?key=issues%2Fnone"), &dump).await;
    assert_eq!(
        attrs(&none, "data-field=\"entry\"", "data-value"),
        ["none (absent or expired)"]
    );

    let token = page_token(&d).await;
    let good = [("x-csrf-token", token.as_str())];
    let body = r#"{"resource":"volumes"}"#;
    let (status, text) = request(&d, "POST", "/api/cache/purge", None, &good, body).await;
    assert_eq!(status, 200, "{text}");
    let after = visit(browser, profile, &url, &dump).await;
    // Nothing of `volumes` is left for the memory store to list.
    assert_eq!(attrs(&after, row, "data-resource"), ["issues"], "{after}");
    assert_eq!(attrs(&after, row, "data-entries"), ["1"]);
    assert_eq!(
        attrs(&after, "class=\"cache-entry\"", "data-key"),
        ["issues/0c"]
    );
    assert!(cache.get("legacy").await.unwrap().is_some());
}

//! `cvstore demo --dashboard` (the dashboard over the demo's stores while it runs: in
//! memory, on a SQLite file, on DynamoDB Local) and `cvstore demo --report FILE` (a self-contained HTML page of the run, read in
//! a real headless Chromium), each against the demo's own `--json` report.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use comic_vine_testkit::chromium;
use serde_json::Value;
use support::{bare_command, json_out};

/// Kills the demo process when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` from the dashboard at `addr`; the JSON body.
fn get(addr: &str, path: &str) -> Value {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    serde_json::from_str(text.split_once("\r\n\r\n").unwrap().1).unwrap()
}

/// The demo's calls per resource, from its `--json` report, in the dashboard's order.
fn calls_per_resource(report: &Value) -> Vec<(String, u64)> {
    ["issues", "volumes", "characters", "search"]
        .iter()
        .map(|r| {
            let n = report["upstream_calls_per_resource"][r].as_u64();
            ((*r).to_owned(), n.unwrap_or(0))
        })
        .collect()
}

impl Running {
    /// Starts `demo` (a `cvstore … demo --dashboard` command) with its stderr piped and
    /// echoed: the process, the dashboard's `host:port` (once printed) and a receiver that
    /// gets a message when the dashboard starts lingering (the fleet is done).
    fn start(demo: &mut Command) -> (Self, String, mpsc::Receiver<()>) {
        let child = demo
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cvstore demo");
        let mut running = Running(child);
        let (urls, url) = mpsc::channel();
        let (linger_tx, linger_rx) = mpsc::channel();
        let stderr = running.0.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("demo: {line}");
                if let Some(at) = line.find("http://") {
                    let rest = &line[at + "http://".len()..];
                    let _ = urls.send(rest[..rest.find('/').unwrap()].to_owned());
                }
                if line.contains("--dashboard-linger") {
                    let _ = linger_tx.send(());
                }
            }
        });
        let addr = url.recv().expect("the dashboard's URL on stderr");
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        (running, addr, linger_rx)
    }
}

/// A count per resource, in the dashboard's order.
type Counts = Vec<(String, u64)>;

/// `(resource, used)` of each rate-limit row, and `(resource, entries)` of each cache row.
fn used_and_cached(addr: &str) -> (Counts, Counts) {
    let limits = get(addr, "/api/ratelimits");
    let cache = get(addr, "/api/cache");
    let pairs = |rows: &Value, field: &str| -> Vec<(String, u64)> {
        rows.as_array()
            .unwrap_or_else(|| panic!("rows in {limits} / {cache}"))
            .iter()
            .map(|r| {
                (
                    r["resource"].as_str().unwrap().to_owned(),
                    r[field].as_u64().unwrap(),
                )
            })
            .collect()
    };
    (
        pairs(&limits["resources"], "used"),
        pairs(&cache["by_resource"]["resources"], "entries"),
    )
}

/// `cvstore <flags> --json demo … --dashboard` on the stores `flags` name (OS
/// processes): while the fleet runs, every resource is listed with at most its limit
/// used; once it is done (the dashboard lingering before the run's table or file is
/// deleted), the grants and cache entries per resource are the report's upstream calls.
fn demo_dashboard_over_shared_stores(flags: &[&str], tmp: &Path) {
    let (mut running, addr, lingering) = Running::start(
        bare_command()
            .args(flags)
            .args(["--json", "demo", "--workers", "2", "--requests", "30"])
            .args(["--limit", "200", "--window", "1m"])
            // Long enough for two GETs; the report is printed after it.
            .args(["--dashboard", "--dashboard-linger", "10s"])
            .env("TMPDIR", tmp)
            .stdout(Stdio::piped()),
    );
    let (used, _) = used_and_cached(&addr);
    let names: Vec<&str> = used.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(names, ["issues", "volumes", "characters", "search"]);
    assert!(used.iter().all(|(_, n)| *n <= 200), "{used:?}");
    lingering.recv().expect("the worker processes finish");
    let (used, cached) = used_and_cached(&addr);
    let mut report = String::new();
    running
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut report)
        .unwrap();
    let report: Value = serde_json::from_str(&report).unwrap();
    assert!(running.0.wait().unwrap().success(), "{report}");
    assert_eq!(report["violations"], 0, "{report}");
    let calls = calls_per_resource(&report);
    assert_eq!(used, calls, "grants per resource in the shared stores");
    assert_eq!(
        cached, calls,
        "cache entries per resource over the run's keys"
    );
}

#[test]
fn demo_dashboard_on_sqlite_shows_the_shared_files_stores() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("unused.db").display());
    demo_dashboard_over_shared_stores(&["--store", &store], dir.path());
}

#[test]
fn demo_dashboard_on_dynamodb_shows_the_shared_tables_stores() {
    let dir = tempfile::tempdir().unwrap();
    demo_dashboard_over_shared_stores(&["--endpoint", support::endpoint()], dir.path());
}

#[test]
fn demo_dashboard_serves_the_demos_stores_while_it_runs() {
    let (mut running, addr, _lingering) = Running::start(
        bare_command()
            .args(["--json", "demo", "--workers", "2", "--requests", "40"])
            // A window far longer than the run: every grant is still counted when read.
            .args(["--limit", "200", "--window", "1m"])
            .args(["--dashboard", "--dashboard-linger", "10m"])
            .stdout(Stdio::piped()),
    );

    let overview = get(&addr, "/api/overview");
    assert_eq!(overview["resources"], 4, "{overview}");
    assert_eq!(overview["rate_limit_rows"], 4, "{overview}");
    assert_eq!(overview["writes_allowed"], false, "{overview}");

    // The report ends the run; the dashboard lingers over the same stores.
    let mut report = String::new();
    let mut stdout = BufReader::new(running.0.stdout.take().unwrap());
    while !report.ends_with("\n}\n") {
        assert!(stdout.read_line(&mut report).unwrap() > 0, "{report}");
    }
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["violations"], 0, "{report}");
    let calls = calls_per_resource(&report);
    let total: u64 = calls.iter().map(|(_, n)| n).sum();
    assert_eq!(report["upstream_calls"], total, "{report}");

    let overview = get(&addr, "/api/overview");
    assert_eq!(
        overview["cache"]["entries"], total,
        "one entry per upstream call"
    );
    // The overview's hits and misses are the run's answers, as the report counts them.
    let usage = &overview["usage"];
    let n = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("{overview}"));
    assert_eq!(
        n(&usage["hits"]) + n(&usage["misses"]) + n(&report["failed"]),
        n(&report["requests"]),
        "{overview} {report}"
    );
    assert_eq!(
        n(&usage["hits"]),
        n(&report["cache_hits"]),
        "{overview} {report}"
    );
    let limits = get(&addr, "/api/ratelimits");
    let rows: Vec<(String, u64)> = limits["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(
                (&r["limiter"], &r["limit"]),
                (&"adaptive".into(), &200.into())
            );
            (
                r["resource"].as_str().unwrap().to_owned(),
                r["used"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, calls, "grants per resource: {limits}");
    let cache = get(&addr, "/api/cache");
    let by: Vec<(String, u64)> = cache["by_resource"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["resource"].as_str().unwrap().to_owned(),
                r["entries"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by, calls, "cache entries per resource: {cache}");
    assert_eq!(cache["by_resource"]["other_entries"], 0, "{cache}");
    let dedupe = get(&addr, "/api/dedupe");
    assert_eq!(dedupe["available"], true, "{dedupe}");
    assert_eq!(dedupe["keys_checked"], total, "{dedupe}");
}

/// The value of attribute `name` in the opening tag that starts `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let needle = format!(" {name}=\"");
    let head = &tag[..tag.find('>').unwrap()];
    let at = head
        .find(&needle)
        .unwrap_or_else(|| panic!("{name} in {head}"))
        + needle.len();
    &head[at..at + head[at..].find('"').unwrap()]
}

#[test]
fn demo_report_charts_every_resource_under_its_limit_and_matches_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.html");
    let out = bare_command()
        .args(["--json", "demo", "--workers", "3", "--requests", "40"])
        // A tight limit: the calls reach it, the limiter keeps them at or under it.
        .args(["--limit", "5", "--window", "1s", "--report"])
        .arg(&file)
        .output()
        .unwrap();
    let report = json_out(&out);
    let page = std::fs::read_to_string(&file).expect("the report file");
    for external in ["<script", "<link", "src=", "http://", "https://", "url("] {
        assert!(!page.contains(external), "self-contained: {external}");
    }

    let Some(browser) = chromium::or_skip("the report's browser check") else {
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let dom = chromium::headless(&browser, profile.path(), chromium::NO_HOSTS)
        .arg("--dump-dom")
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("run chromium");
    let dom = chromium::stdout_of(&dom);

    let per = report["upstream_calls_per_resource"].as_object().unwrap();
    let charts: Vec<&str> = dom.split("<svg class=\"resource-chart\"").skip(1).collect();
    let names: Vec<&str> = charts.iter().map(|c| attr(c, "data-resource")).collect();
    let mut want: Vec<&str> = per.keys().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(names, want, "one chart per resource:\n{dom}");
    let mut peaks = Vec::new();
    for (chart, name) in charts.iter().zip(&names) {
        assert_eq!(attr(chart, "data-calls"), per[*name].to_string(), "{name}");
        let line = &chart[chart.find("class=\"limit-line\"").unwrap()..];
        assert_eq!(attr(line, "data-limit"), "5");
        let limit_y: f64 = attr(line, "y1").parse().unwrap();
        let series = &chart[chart.find("class=\"series\"").unwrap()..];
        let ys: Vec<f64> = attr(series, "points")
            .split(' ')
            .map(|p| p.split_once(',').unwrap().1.parse().unwrap())
            .collect();
        assert_eq!(ys.len().to_string(), attr(chart, "data-calls"));
        // SVG y grows downwards: a point above the line has a smaller y.
        assert!(
            ys.iter().all(|y| *y >= limit_y),
            "{name}: {ys:?} vs {limit_y}"
        );
        peaks.push(attr(chart, "data-peak").parse::<u32>().unwrap());
    }
    assert!(peaks.iter().all(|p| *p <= 5), "{peaks:?}");

    let figures = &dom[dom.find("id=\"figures\"").unwrap()..];
    let shown: Vec<(String, String)> = figures
        .split("data-key=\"")
        .skip(1)
        .map(|t| {
            let key = &t[..t.find('"').unwrap()];
            let v = &t[t.find("data-value=\"").unwrap() + "data-value=\"".len()..];
            (
                key.to_owned(),
                v[..v.find('"').unwrap()].replace("&amp;", "&"),
            )
        })
        .collect();
    let mut expected = Vec::new();
    for (k, v) in report.as_object().unwrap() {
        flatten(k.clone(), v, &mut expected);
    }
    assert_eq!(shown, expected, "the figures are the --json report's");
}

/// `value` under `key` as `(key, text)` pairs, nested objects' keys as `outer.inner`
/// (strings without quotes), as the report's figures table shows them.
fn flatten(key: String, value: &Value, out: &mut Vec<(String, String)>) {
    match value.as_object() {
        Some(inner) => {
            for (k, v) in inner {
                flatten(format!("{key}.{k}"), v, out);
            }
        }
        None => out.push((key, value.as_str().map_or(value.to_string(), str::to_owned))),
    }
}

/// Visits `url` in headless Chromium with `extra` arguments; its stdout.
fn visit(browser: &Path, url: &str, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = chromium::headless(browser, profile.path(), chromium::LOOPBACK_ONLY)
        .arg("--virtual-time-budget=3000")
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium");
    chromium::stdout_of(&out)
}

/// The README's picture: the rate-limit view during a demo whose limit binds, rendered
/// by Chromium (one series per resource, one limit line), and a screenshot of each view
/// into `target/dashboard-screenshots/demo-*.png` (`docs/dashboard.png` is the
/// rate-limit one).
#[test]
fn demo_dashboard_renders_in_chromium_with_screenshots() {
    let Some(browser) = chromium::or_skip("the demo dashboard's browser check") else {
        return;
    };
    let (_running, addr, _lingering) = Running::start(
        bare_command()
            .args(["demo", "--workers", "4", "--requests", "60", "--limit", "4"])
            .args(["--window", "2s", "--dashboard", "--dashboard-linger", "10m"])
            .stdout(Stdio::null()),
    );
    let url = format!("http://{addr}/ratelimits");
    let dom = visit(&browser, &url, &["--dump-dom".to_owned()]);
    let series: Vec<&str> = dom
        .split("class=\"series\"")
        .skip(1)
        .map(|t| attr(t, "data-resource"))
        .collect();
    assert_eq!(
        series,
        ["issues", "volumes", "characters", "search"],
        "one series per resource:\n{dom}"
    );
    let line = &dom[dom.find("class=\"limit-line\"").expect("a limit line")..];
    assert_eq!(attr(line, "data-limit"), "4");
    assert_eq!(dom.matches("class=\"resource-row\"").count(), 4);

    let out = chromium::screenshot_dir();
    for view in ["ratelimits", "cache", "dedupe"] {
        let png = out.join(format!("demo-{view}.png"));
        let args = chromium::screenshot_args(&png);
        visit(&browser, &format!("http://{addr}/{view}"), &args);
        chromium::assert_png(view, &png);
    }
}

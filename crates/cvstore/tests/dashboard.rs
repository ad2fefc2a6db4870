//! `cvstore dashboard` on DynamoDB Local: the JSON API shows the table's rate limits and
//! cache (its resources and their entries, as the store lists them) as other `cvstore`
//! processes left them; the read-only server refuses writes, one started with
//! `--allow-writes` purges a resource given the page's token.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use serde_json::Value;
use support::stub::Stub;
use support::{bare_command, created_table, cvstore, endpoint, ok};

/// Kills the dashboard process when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request to `addr` (`host:port`); returns the status and the body.
fn http(addr: &str, method: &str, path: &str) -> (u16, String) {
    http_with(addr, method, path, "", "")
}

/// One HTTP/1.1 request with extra `headers` (each line ending in `\r\n`) and `body`.
fn http_with(addr: &str, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// Starts `cvstore dashboard` on `table` (rows issues and volumes, 10 a minute) with
/// `extra` flags; returns the process and its `host:port`.
fn start_dashboard(table: &str, extra: &[&str]) -> (Running, String) {
    let child = bare_command()
        .args([
            "--endpoint",
            endpoint(),
            "--table",
            table,
            "--json",
            "dashboard",
        ])
        .args([
            "--resources",
            "issues,volumes",
            "--limit",
            "10",
            "--window",
            "1m",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start cvstore dashboard");
    let mut running = Running(child);
    let mut line = String::new();
    BufReader::new(running.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let started: Value = serde_json::from_str(&line).expect("a JSON line with the URL");
    let url = started["url"].as_str().unwrap();
    let addr = url
        .strip_prefix("http://")
        .and_then(|a| a.strip_suffix('/'))
        .unwrap();
    assert!(addr.starts_with("127.0.0.1:"), "{url}");
    (running, addr.to_owned())
}

/// `(resource, entries)` of each row of the cache view, and its basis.
fn cache_rows(addr: &str) -> (Vec<(String, u64)>, Value) {
    let (status, body) = http(addr, "GET", "/api/cache");
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    let by = &doc["by_resource"];
    let rows = by["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("rows in {doc}"))
        .iter()
        .map(|r| {
            let name = r["resource"].as_str().unwrap().to_owned();
            (name, r["entries"].as_u64().unwrap())
        })
        .collect();
    (rows, by["basis"].clone())
}

#[test]
fn dashboard_on_a_table_lists_its_resources_and_purges_only_with_writes_allowed() {
    let table = created_table("cvstore-dash-purge");
    for key in ["volumes/0a", "volumes/0b", "search/0c", "legacy"] {
        ok(&cvstore(&table, &["cache", "set", key, r#"{"a":1}"#]));
    }
    let entries = || {
        let stats: Value =
            serde_json::from_str(&ok(&cvstore(&table, &["--json", "cache", "stats"]))).unwrap();
        stats["entries"].as_u64().unwrap()
    };

    let (_read_only, addr) = start_dashboard(&table, &[]);
    let want = |volumes: u64| {
        let rows = [("issues", 0), ("volumes", volumes), ("search", 1)];
        rows.map(|(r, n)| (r.to_owned(), n)).to_vec()
    };
    assert_eq!(cache_rows(&addr), (want(2), Value::from("store")));
    let body = r#"{"resource":"volumes"}"#;
    let (status, text) = http_with(&addr, "POST", "/api/cache/purge", "", body);
    assert_eq!(status, 403, "read-only: {text}");
    assert_eq!(entries(), 4, "nothing removed");

    let (_writable, addr) = start_dashboard(&table, &["--allow-writes"]);
    let (_, page) = http(&addr, "GET", "/cache");
    let marker = "name=\"csrf-token\" content=\"";
    let at = page.find(marker).expect("a token on a writable page") + marker.len();
    let token = &page[at..at + 64];
    let (status, text) = http_with(&addr, "POST", "/api/cache/purge", "", body);
    assert_eq!(status, 403, "no token: {text}");
    let header = format!("x-csrf-token: {token}\r\ncontent-type: application/json\r\n");
    let (status, text) = http_with(&addr, "POST", "/api/cache/purge", &header, body);
    assert_eq!(status, 200, "{text}");
    let done: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        done,
        serde_json::json!({"resource": "volumes", "removed": 2})
    );
    assert_eq!(entries(), 2, "search's entry and the legacy one stay");
    // The table's registry still names `volumes`: its row stays, empty.
    assert_eq!(cache_rows(&addr).0, want(0));
}

#[test]
fn dashboard_serves_the_tables_stores_read_only() {
    let table = created_table("cvstore-dash");
    for _ in 0..3 {
        ok(&cvstore(
            &table,
            &[
                "ratelimit",
                "acquire",
                "issues",
                "--limit",
                "10",
                "--window",
                "1m",
            ],
        ));
    }
    ok(&cvstore(&table, &["cache", "set", "k1", r#"{"a":1}"#]));

    let (_running, addr) = start_dashboard(&table, &[]);
    let addr = addr.as_str();

    let (status, body) = http(addr, "GET", "/api/ratelimits");
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    let rows = doc["resources"].as_array().unwrap();
    let used: Vec<(&str, u64, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["resource"].as_str().unwrap(),
                r["used"].as_u64().unwrap(),
                r["limit"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(used, vec![("issues", 3, 10), ("volumes", 0, 10)]);

    let (_, body) = http(addr, "GET", "/api/overview");
    let overview: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(overview["cache"]["entries"], 1, "{overview}");
    // The dashboard's own reads are counted (the rate-limit view above read the table);
    // the fleet's hits are not known to it.
    let usage = &overview["usage"];
    assert!(usage["store_requests"].as_u64().unwrap() >= 2, "{overview}");
    assert!(usage["read_units"].as_f64().unwrap() > 0.0, "{overview}");
    assert!(usage["hits"].is_null(), "{overview}");
    assert_eq!(overview["circuit"]["state"], "closed", "{overview}");

    let (status, _) = http(addr, "POST", "/api/cache/clear");
    assert_eq!(status, 403, "read-only");
    let stats = ok(&cvstore(&table, &["--json", "cache", "stats"]));
    assert!(stats.contains("\"entries\":1"), "{stats}");
}

/// On a real table no application records its keys: the dedupe view looks up the jobs
/// of the cache entries the store lists. A `cvstore fetch` through the table leaves an
/// entry and its finished job; a key with an entry but no job is checked and not shown.
#[test]
fn dashboard_on_a_table_shows_the_jobs_of_its_cached_keys() {
    let table = created_table("cvstore-dash-jobs");
    let stub = Stub::start();
    let url = stub.url("/issues/?limit=2");
    let body = ok(&cvstore(&table, &["fetch", "--resource", "issues", &url]));
    assert!(body.contains("\"results\""), "{body}");
    ok(&cvstore(
        &table,
        &["cache", "set", "volumes/0a", r#"{"a":1}"#],
    ));

    let (_running, addr) = start_dashboard(&table, &[]);
    let (status, body) = http(&addr, "GET", "/api/dedupe");
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["keys_checked"], 2, "{doc}");
    let jobs = doc["jobs"].as_array().unwrap();
    let seen: Vec<(&str, &str)> = jobs
        .iter()
        .map(|j| {
            (
                j["resource"].as_str().unwrap(),
                j["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, vec![("issues", "completed")], "{doc}");
    assert!(
        jobs[0]["key"].as_str().unwrap().starts_with("issues/"),
        "{doc}"
    );
    assert_eq!(stub.api.calls_to("issues"), 1);
}

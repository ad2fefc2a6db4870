//! `cvstore fetch URL` run as a user runs the binary, against the stub Comic Vine API on
//! 127.0.0.1 (served by a tokio runtime of the test while the binary runs).

use std::net::TcpListener;
use std::process::Output;

use comic_vine_stub::{StubApi, StubConfig};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

mod support;

use support::*;

/// The stub, and the runtime serving it.
struct Stub {
    runtime: tokio::runtime::Runtime,
    api: StubApi,
}

impl Stub {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let api = runtime
            .block_on(StubApi::start(StubConfig::default()))
            .expect("start the stub");
        Self { runtime, api }
    }

    /// `path` (e.g. `/issues/?limit=2`) under the stub's API URL.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api.url())
    }

    /// The stub's own answer to a plain GET of `url`: (status, body).
    fn direct(&self, url: &str) -> (u16, Vec<u8>) {
        self.runtime.block_on(async {
            let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
            let response = client
                .get(url.parse().unwrap())
                .await
                .expect("GET the stub");
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, body.to_vec())
        })
    }
}

fn memory(args: &[&str]) -> Output {
    run_with_input(&["--store", "memory"], args, b"")
}

/// A 127.0.0.1 URL where nobody listens.
fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/api/issues/?api_key=SECRET&limit=1")
}

#[test]
fn prints_the_body_exactly() {
    let stub = Stub::start();
    let url = stub.url("/issues/?api_key=SECRET&format=json&limit=3");
    let (status, expected) = stub.direct(&url);
    assert_eq!(status, 200);
    let out = memory(&["fetch", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, expected);
    assert_eq!(stderr(&out), "");
    assert_eq!(stub.api.calls_to("issues"), 2);
}

#[test]
fn a_second_fetch_on_sqlite_is_served_from_the_cache() {
    let stub = Stub::start();
    let db = Db::new();
    let url = stub.url("/issue/4000-7/?api_key=A&format=json");
    let first = json_out(&db.run(&["--json", "fetch", &url]));
    assert_eq!(first["status"], 200);
    assert_eq!(first["served_by"], "upstream");
    assert_eq!(first["age_seconds"], 0);
    assert_eq!(first["body_encoding"], "utf-8");
    assert_eq!(first["headers"]["x-served-by"], "upstream");
    assert_eq!(stub.api.calls_to("issue"), 1);
    // Another API key: the same request, the same entry.
    let other_key = url.replace("api_key=A", "api_key=B");
    let second = json_out(&db.run(&["--json", "fetch", &other_key]));
    assert_eq!(second["served_by"], "cache");
    assert_eq!(second["status"], 200);
    assert_eq!(second["body"], first["body"]);
    assert_eq!(second["headers"]["x-served-by"], "cache");
    assert_eq!(stub.api.calls_to("issue"), 1, "no second upstream call");
}

#[test]
fn include_prints_the_status_line_and_headers() {
    let stub = Stub::start();
    let url = stub.url("/issue/4000-2/?format=json");
    let (_, body) = stub.direct(&url);
    let out = memory(&["fetch", "-i", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let (head, rest) = text
        .split_once("\n\n")
        .expect("headers, a blank line, the body");
    let mut lines = head.lines();
    assert_eq!(lines.next(), Some("HTTP/1.1 200 OK"));
    let headers: Vec<&str> = lines.collect();
    assert!(headers.contains(&"x-served-by: upstream"), "{head}");
    assert!(headers.contains(&"age: 0"), "{head}");
    assert_eq!(rest.as_bytes(), body);
}

#[test]
fn not_found_exits_3_with_one_error_line() {
    let stub = Stub::start();
    let url = stub.url("/issue/4000-0/?api_key=SECRET&format=json");
    let out = memory(&["fetch", &url]);
    let line = failed(&out, NOT_FOUND);
    let origin = stub.api.url().trim_end_matches("/api");
    assert_eq!(
        line,
        format!("error: not found: GET {origin}/api/issue/4000-0/ answered 404 Not Found")
    );
    assert_eq!(stdout(&out), "");
    let out = memory(&["--json", "fetch", &url]);
    assert_eq!(failed(&out, NOT_FOUND), line);
    let json = json_out(&out);
    assert_eq!(json["error"]["kind"], "not_found");
    assert_eq!(json["error"]["message"], line.trim_start_matches("error: "));
    assert_eq!(stub.api.calls_to("issue"), 2);
}

#[test]
fn invalid_urls_exit_2_before_any_request() {
    let line = failed(&memory(&["fetch", "not a url"]), USAGE);
    assert_eq!(
        line,
        "error: invalid URL: \"not a url\" is not a URL (relative URL without a base)"
    );
    let line = failed(&memory(&["fetch", "ftp://127.0.0.1/api/issues/"]), USAGE);
    assert_eq!(
        line,
        "error: invalid URL: \"ftp://127.0.0.1/api/issues/\": the scheme ftp:// is not http://"
    );
    let line = failed(
        &memory(&["fetch", "ftp://h/x?limit=1&api_key=SECRET"]),
        USAGE,
    );
    assert_eq!(
        line,
        "error: invalid URL: \"ftp://h/x?limit=1&api_key=***\": the scheme ftp:// is not http://"
    );
    let json = json_out(&memory(&["--json", "fetch", "ftp://127.0.0.1/x"]));
    assert_eq!(json["error"]["kind"], "invalid_usage");
    let line = failed(
        &memory(&["fetch", "http://127.0.0.1:1/api/x/", "--priority", "urgent"]),
        USAGE,
    );
    assert!(line.contains("urgent"), "{line}");
}

#[test]
fn upstream_down_exits_1_with_one_error_line() {
    let url = dead_url();
    let origin = url.split("/api").next().unwrap().to_owned();
    let out = memory(&["fetch", &url]);
    let line = failed(&out, 1);
    assert_eq!(
        line,
        format!(
            "error: GET {origin}/api/issues/ failed after 3 attempts: client error (Connect): tcp connect \
             error: Connection refused (os error 111)"
        )
    );
    assert!(!line.contains("SECRET"));
    let out = memory(&["--json", "fetch", &url]);
    failed(&out, 1);
    let json = json_out(&out);
    assert_eq!(json["error"]["kind"], "upstream");
    assert_eq!(json["error"]["message"], line.trim_start_matches("error: "));
}

#[test]
fn a_spent_budget_fails_past_max_wait() {
    let stub = Stub::start();
    let db = Db::new();
    let limits = ["--limit", "1", "--window", "1h", "--max-wait", "1s"];
    let first = stub.url("/issue/4000-1/?format=json");
    let out = db.run(&[&["fetch", first.as_str()][..], &limits].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let second = stub.url("/issue/4000-2/?format=json");
    let out = db.run(&[&["--json", "fetch", second.as_str()][..], &limits].concat());
    let line = failed(&out, 1);
    let origin = stub.api.url().trim_end_matches("/api");
    let prefix = format!(
        "error: GET {origin}/api/issue/4000-2/ through the stores: rate limit of `issue`: next slot in "
    );
    assert!(line.starts_with(&prefix), "{line}");
    assert!(line.ends_with(", longer than the 1s allowed"), "{line}");
    assert_eq!(json_out(&out)["error"]["kind"], "rate_limited");
    assert_eq!(stub.api.calls_to("issue"), 1);
    // The key already cached is still answered, from the cache.
    let out = db.run(&[&["--json", "fetch", first.as_str()][..], &limits].concat());
    assert_eq!(json_out(&out)["served_by"], "cache");
}

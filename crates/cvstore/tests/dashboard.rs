//! `cvstore dashboard` on DynamoDB Local: the JSON API shows the table's rate limits and
//! cache as other `cvstore` processes left them, and the read-only server refuses writes.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use serde_json::Value;
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
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
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

    let child = bare_command()
        .args([
            "--endpoint",
            endpoint(),
            "--table",
            &table,
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
    assert_eq!(overview["circuit"]["state"], "closed", "{overview}");

    let (status, _) = http(addr, "POST", "/api/cache/clear");
    assert_eq!(status, 403, "read-only");
    let stats = ok(&cvstore(&table, &["--json", "cache", "stats"]));
    assert!(stats.contains("\"entries\":1"), "{stats}");
}

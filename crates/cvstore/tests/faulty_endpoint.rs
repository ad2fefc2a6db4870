//! Every command against an endpoint that only answers 503, or only throttles, gives up
//! by itself after its retries, with one typed line on stderr and a non-zero exit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A loopback HTTP server answering every request with `response`; counts requests.
struct Stub {
    endpoint: String,
    requests: Arc<AtomicU64>,
}

impl Stub {
    fn start(response: String) -> Self {
        let response: &'static str = Box::leak(response.into_boxed_str());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || answer(stream, response, &counter));
            }
        });
        Self { endpoint, requests }
    }
}

/// Reads one request (headers and body) and answers it, closing the connection.
fn answer(stream: TcpStream, response: &str, counter: &AtomicU64) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    counter.fetch_add(1, Ordering::Relaxed);
    let _ = reader.get_mut().write_all(response.as_bytes());
}

fn response(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn unavailable() -> String {
    response("503 Service Unavailable", "", "")
}

fn throttled() -> String {
    response(
        "400 Bad Request",
        "content-type: application/x-amz-json-1.0\r\nx-amzn-errortype: ThrottlingException\r\n",
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeded"}"#,
    )
}

const COMMANDS: [&[&str]; 7] = [
    &["cache", "get", "k"],
    &["cache", "set", "k", "1"],
    &["cache", "stats"],
    &["ratelimit", "acquire", "issues"],
    &["dedupe", "status", "abc"],
    &["table", "verify"],
    &["health"],
];

/// Requests a command sends before it gives up: its first operation's attempt and the
/// default 3 retries (nothing after the first failure).
const ATTEMPTS: u64 = 4;

fn run_all(stub: &Stub, expected: &str) {
    for args in COMMANDS {
        let sent = stub.requests.load(Ordering::Relaxed);
        let out = Command::new(env!("CARGO_BIN_EXE_cvstore"))
            .args(["--endpoint", &stub.endpoint, "--table", "t-faulty"])
            .args(args)
            .env_remove("CVSTORE_TIMEOUT")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stub.requests.load(Ordering::Relaxed) - sent,
            ATTEMPTS,
            "{args:?}: gave up after its retries"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        // `health` reports the same cause behind "unhealthy: ".
        let line = stderr
            .trim_start_matches("error: ")
            .trim_start_matches("unhealthy: ");
        assert!(
            stderr.starts_with("error: ") && line.starts_with(expected),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn an_endpoint_answering_only_503_gives_unavailable() {
    let stub = Stub::start(unavailable());
    run_all(&stub, "the backend is unavailable (DynamoDB ");
}

#[test]
fn an_endpoint_that_only_throttles_gives_throttled() {
    let stub = Stub::start(throttled());
    run_all(&stub, "the backend throttled the request (DynamoDB ");
}

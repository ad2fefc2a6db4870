//! Retries against a real HTTP server on 127.0.0.1 that answers from a script and
//! records when each attempt arrived.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use comic_vine_http::{Limited, RetryPolicy, send_with_retries};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// A server answering the n-th request with `script[n]` (the last one after that).
struct Scripted {
    addr: std::net::SocketAddr,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Scripted {
    async fn start(script: Vec<&'static str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&arrivals);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                        break;
                    }
                    head.push(byte[0]);
                }
                let n = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(Instant::now());
                    seen.len() - 1
                };
                let answer = script[n.min(script.len() - 1)];
                let response = format!(
                    "HTTP/1.1 {answer}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                );
                let _ = stream.write_all(response.as_bytes()).await;
            }
        });
        Self { addr, arrivals }
    }

    fn arrivals(&self) -> Vec<Instant> {
        self.arrivals.lock().unwrap().clone()
    }
}

/// A GET over a fresh connection; the answer as an `http::Response`.
async fn get(addr: std::net::SocketAddr) -> Result<http::Response<String>, std::io::Error> {
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .await?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    let mut response = http::Response::new(body.to_owned());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    for line in lines {
        if let Some((n, v)) = line.split_once(':') {
            response.headers_mut().append(
                http::HeaderName::from_bytes(n.trim().as_bytes()).unwrap(),
                v.trim().parse().unwrap(),
            );
        }
    }
    Ok(response)
}

fn quick() -> RetryPolicy {
    RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(5))
}

/// Counts the rate-limit hook's calls and grants them all.
fn counting(grants: &AtomicU32) -> impl FnMut() -> std::future::Ready<Result<(), ()>> + '_ {
    move || {
        grants.fetch_add(1, Ordering::Relaxed);
        std::future::ready(Ok(()))
    }
}

#[tokio::test]
async fn a_503_then_200_answers_200_after_one_retry_each_attempt_through_the_limiter() {
    let server = Scripted::start(vec!["503 Service Unavailable", "200 OK"]).await;
    let grants = AtomicU32::new(0);
    let r = send_with_retries(&quick(), None, counting(&grants), || get(server.addr)).await;
    let response = r.result.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(r.attempts, 2);
    assert_eq!(server.arrivals().len(), 2);
    assert_eq!(grants.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_between_attempts() {
    let server = Scripted::start(vec!["429 Too Many Requests\r\nretry-after: 1", "200 OK"]).await;
    let grants = AtomicU32::new(0);
    let r = send_with_retries(&quick(), None, counting(&grants), || get(server.addr)).await;
    assert_eq!(r.result.unwrap().unwrap().status(), 200);
    let at = server.arrivals();
    assert_eq!(at.len(), 2);
    // The server saw the second attempt at least Retry-After after the first.
    assert!(
        at[1] - at[0] >= Duration::from_secs(1),
        "{:?}",
        at[1] - at[0]
    );
}

#[tokio::test]
async fn no_retry_when_the_wait_would_pass_the_deadline_or_is_too_long() {
    let server =
        Scripted::start(vec!["503 Service Unavailable\r\nretry-after: 30", "200 OK"]).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let grants = AtomicU32::new(0);
    let r = send_with_retries(&quick(), Some(deadline), counting(&grants), || {
        get(server.addr)
    })
    .await;
    assert_eq!(r.result.unwrap().unwrap().status(), 503);
    assert_eq!((r.attempts, server.arrivals().len()), (1, 1));

    let server =
        Scripted::start(vec!["503 Service Unavailable\r\nretry-after: 30", "200 OK"]).await;
    let short = quick().max_retry_after(Duration::from_secs(10));
    let r = send_with_retries(&short, None, counting(&grants), || get(server.addr)).await;
    assert_eq!(r.result.unwrap().unwrap().status(), 503);
    assert_eq!(server.arrivals().len(), 1);

    // A deadline already passed: the first attempt is made, no retry.
    let server = Scripted::start(vec!["500 Internal Server Error", "200 OK"]).await;
    let r = send_with_retries(&quick(), Some(Instant::now()), counting(&grants), || {
        get(server.addr)
    })
    .await;
    assert_eq!(r.result.unwrap().unwrap().status(), 500);
    assert_eq!(server.arrivals().len(), 1);
}

#[tokio::test]
async fn connection_errors_are_retried_and_attempts_are_bounded() {
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let server = Scripted::start(vec!["200 OK"]).await;
    let tries = AtomicU32::new(0);
    let grants = AtomicU32::new(0);
    let r = send_with_retries(&quick(), None, counting(&grants), || {
        let first = tries.fetch_add(1, Ordering::Relaxed) == 0;
        get(if first { closed } else { server.addr })
    })
    .await;
    assert_eq!(r.result.unwrap().unwrap().status(), 200);
    assert_eq!((r.attempts, server.arrivals().len()), (2, 1));

    let failing = Scripted::start(vec!["502 Bad Gateway"]).await;
    let r = send_with_retries(&quick().max_attempts(3), None, counting(&grants), || {
        get(failing.addr)
    })
    .await;
    assert_eq!(r.result.unwrap().unwrap().status(), 502);
    assert_eq!((r.attempts, failing.arrivals().len()), (3, 3));

    let missing = Scripted::start(vec!["404 Not Found", "200 OK"]).await;
    let r = send_with_retries(&quick(), None, counting(&grants), || get(missing.addr)).await;
    assert_eq!(r.result.unwrap().unwrap().status(), 404);
    assert_eq!(missing.arrivals().len(), 1, "a 404 is not retried");
}

#[tokio::test]
async fn a_refusing_rate_limiter_stops_before_the_next_attempt() {
    let server = Scripted::start(vec!["503 Service Unavailable", "200 OK"]).await;
    let grants = AtomicU32::new(0);
    let acquire = || {
        let n = grants.fetch_add(1, Ordering::Relaxed);
        std::future::ready(if n == 0 { Ok(()) } else { Err("wait too long") })
    };
    let r = send_with_retries(&quick(), None, acquire, || get(server.addr)).await;
    assert!(matches!(r.result, Err(Limited("wait too long"))));
    assert_eq!((r.attempts, server.arrivals().len()), (1, 1));
}

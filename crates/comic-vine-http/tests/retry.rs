//! Retries against a real HTTP server on 127.0.0.1 that answers from a script and
//! records when each attempt arrived.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use comic_vine_http::{Limited, RetryPolicy, send_with_retries};
use tokio::net::TcpListener;
use tokio::time::Instant;

mod support;
use support::{Scripted, get};

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
    let server = Scripted::list(vec!["503 Service Unavailable", "200 OK"]).await;
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
    let server = Scripted::list(vec!["429 Too Many Requests\r\nretry-after: 1", "200 OK"]).await;
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
    let server = Scripted::list(vec!["503 Service Unavailable\r\nretry-after: 30", "200 OK"]).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let grants = AtomicU32::new(0);
    let r = send_with_retries(&quick(), Some(deadline), counting(&grants), || {
        get(server.addr)
    })
    .await;
    assert_eq!(r.result.unwrap().unwrap().status(), 503);
    assert_eq!((r.attempts, server.arrivals().len()), (1, 1));

    let server = Scripted::list(vec!["503 Service Unavailable\r\nretry-after: 30", "200 OK"]).await;
    let short = quick().max_retry_after(Duration::from_secs(10));
    let r = send_with_retries(&short, None, counting(&grants), || get(server.addr)).await;
    assert_eq!(r.result.unwrap().unwrap().status(), 503);
    assert_eq!(server.arrivals().len(), 1);

    // A deadline already passed: the first attempt is made, no retry.
    let server = Scripted::list(vec!["500 Internal Server Error", "200 OK"]).await;
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
    let server = Scripted::list(vec!["200 OK"]).await;
    let tries = AtomicU32::new(0);
    let grants = AtomicU32::new(0);
    let r = send_with_retries(&quick(), None, counting(&grants), || {
        let first = tries.fetch_add(1, Ordering::Relaxed) == 0;
        get(if first { closed } else { server.addr })
    })
    .await;
    assert_eq!(r.result.unwrap().unwrap().status(), 200);
    assert_eq!((r.attempts, server.arrivals().len()), (2, 1));

    let failing = Scripted::list(vec!["502 Bad Gateway"]).await;
    let r = send_with_retries(&quick().max_attempts(3), None, counting(&grants), || {
        get(failing.addr)
    })
    .await;
    assert_eq!(r.result.unwrap().unwrap().status(), 502);
    assert_eq!((r.attempts, failing.arrivals().len()), (3, 3));

    let missing = Scripted::list(vec!["404 Not Found", "200 OK"]).await;
    let r = send_with_retries(&quick(), None, counting(&grants), || get(missing.addr)).await;
    assert_eq!(r.result.unwrap().unwrap().status(), 404);
    assert_eq!(missing.arrivals().len(), 1, "a 404 is not retried");
}

#[tokio::test]
async fn a_refusing_rate_limiter_stops_before_the_next_attempt() {
    let server = Scripted::list(vec!["503 Service Unavailable", "200 OK"]).await;
    let grants = AtomicU32::new(0);
    let acquire = || {
        let n = grants.fetch_add(1, Ordering::Relaxed);
        std::future::ready(if n == 0 { Ok(()) } else { Err("wait too long") })
    };
    let r = send_with_retries(&quick(), None, acquire, || get(server.addr)).await;
    assert!(matches!(r.result, Err(Limited("wait too long"))));
    assert_eq!((r.attempts, server.arrivals().len()), (1, 1));
}

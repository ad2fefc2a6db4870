//! A stub of the Comic Vine API on 127.0.0.1, the offline stand-in for the demo, the
//! examples and the tests.
//!
//! - Enforces a per-resource limit per window the way Comic Vine does: HTTP 420 with its
//!   "slow down" message (and, if configured, a `Retry-After` header), counting every
//!   call over the limit as a violation.
//! - Answers with JSON sized like real responses: lists (`/api/issues/?…`,
//!   `/api/search/?…`) are mostly a few KB, one in eight over 400 KB; single objects
//!   (`/api/issue/4000-1/`) are small. An object whose id is not `<type>-<n>` with
//!   `n > 0` (e.g. `/api/issue/4000-0/`) is 404 "Object Not Found".
//! - Counts every call per resource, whatever its method ([`StubApi::calls_per_resource`]),
//!   and full versus conditional (`If-None-Match`/`If-Modified-Since`) requests
//!   ([`StubApi::full_requests`], [`StubApi::conditional_requests`],
//!   [`StubApi::not_modified`]), and logs each call with the count in its window
//!   ([`StubApi::call_log`]).
//! - Sends no caching headers by default, like Comic Vine; started with
//!   [`StubApi::start_with_caching`] it can send `Cache-Control: max-age`, `ETag` and
//!   `Last-Modified` and answer `304` ([`StubCaching`]), changed while it runs with
//!   [`StubApi::set_caching`]; [`StubApi::answer_next`] injects faults (`503`s, a `304`
//!   that validates nothing).
//!
//! A plain HTTP/1.1 server on tokio (keep-alive, any method, `Content-Length` bodies
//! skipped): enough for its users, with no server framework to build.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use comic_vine_stub::{StubApi, StubConfig};
//!
//! let api = StubApi::start(StubConfig::default()).await?;
//! assert!(api.url().starts_with("http://127.0.0.1:"));
//! assert_eq!(api.total_calls(), 0);
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```

#![warn(missing_docs)]

mod answer;
mod bodies;
mod caching;
mod calls;
mod faults;
mod head;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use answer::answer;
pub use caching::{LAST_MODIFIED, StubCaching, StubEtag};
pub use calls::StubCall;
use head::read_head;

/// Request bodies larger than this close the connection unread.
const MAX_BODY: u64 = 1 << 20;

/// What the stub enforces and how it answers.
#[derive(Clone, Debug)]
pub struct StubConfig {
    /// Calls allowed per resource and window.
    pub limit: usize,
    /// The window.
    pub window: Duration,
    /// Time taken by every answer.
    pub latency: Duration,
    /// `Retry-After` (whole seconds, rounded up) sent with 420 answers; `None` sends none.
    pub retry_after: Option<Duration>,
}

impl Default for StubConfig {
    /// Comic Vine's limit (200 calls per resource per hour), no latency, no `Retry-After`.
    fn default() -> Self {
        Self {
            limit: 200,
            window: Duration::from_secs(3600),
            latency: Duration::ZERO,
            retry_after: None,
        }
    }
}

#[derive(Debug, Default)]
struct Calls {
    /// Per resource: call times still in the window, and the total.
    per_resource: HashMap<String, (Vec<Instant>, usize)>,
    /// Every call, oldest first (see [`StubApi::call_log`]).
    log: Vec<StubCall>,
}

#[derive(Debug)]
struct Shared {
    config: StubConfig,
    caching: Mutex<StubCaching>,
    faults: faults::Faults,
    started: Instant,
    calls: Mutex<Calls>,
    violations: AtomicU64,
    full: AtomicU64,
    conditional: AtomicU64,
    not_modified: AtomicU64,
    /// The `If-None-Match` of each request that had one, oldest first.
    if_none_match: Mutex<Vec<String>>,
}

/// A running stub; it stops when dropped.
#[derive(Debug)]
pub struct StubApi {
    url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for StubApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl StubApi {
    /// Starts the stub on a free 127.0.0.1 port.
    ///
    /// # Errors
    ///
    /// The failure of binding the port.
    pub async fn start(config: StubConfig) -> std::io::Result<Self> {
        Self::start_with_caching(config, StubCaching::sparse()).await
    }

    /// Starts the stub on a free 127.0.0.1 port, sending the `caching` headers with its
    /// 200 answers (and `304`s when it has validators).
    ///
    /// # Errors
    ///
    /// The failure of binding the port.
    pub async fn start_with_caching(
        config: StubConfig,
        caching: StubCaching,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/api", listener.local_addr()?);
        let shared = Arc::new(Shared::new(config, caching));
        let server_shared = Arc::clone(&shared);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&server_shared)));
            }
        });
        Ok(Self {
            url,
            shared,
            server,
        })
    }

    /// The API's base URL, e.g. `http://127.0.0.1:40123/api`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls that exceeded the limit.
    pub fn violations(&self) -> u64 {
        self.shared.violations.load(Ordering::Relaxed)
    }

    /// Calls made, per resource (every method, every answer).
    pub fn calls_per_resource(&self) -> HashMap<String, usize> {
        let calls = self.shared.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls
            .per_resource
            .iter()
            .map(|(r, (_, total))| (r.clone(), *total))
            .collect()
    }

    /// Calls made to `resource`.
    pub fn calls_to(&self, resource: &str) -> usize {
        let calls = self.shared.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls
            .per_resource
            .get(resource)
            .map_or(0, |(_, total)| *total)
    }

    /// Requests without `If-None-Match` or `If-Modified-Since`.
    pub fn full_requests(&self) -> u64 {
        self.shared.full.load(Ordering::Relaxed)
    }

    /// Requests with `If-None-Match` or `If-Modified-Since`.
    pub fn conditional_requests(&self) -> u64 {
        self.shared.conditional.load(Ordering::Relaxed)
    }

    /// `304 Not Modified` answers sent.
    pub fn not_modified(&self) -> u64 {
        self.shared.not_modified.load(Ordering::Relaxed)
    }

    /// The `If-None-Match` of each request that sent one, oldest first.
    pub fn if_none_match_sent(&self) -> Vec<String> {
        self.shared
            .if_none_match
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Calls made, all resources together.
    pub fn total_calls(&self) -> usize {
        self.calls_per_resource().values().sum()
    }
}

impl Shared {
    fn new(config: StubConfig, caching: StubCaching) -> Self {
        Self {
            config,
            caching: Mutex::new(caching),
            faults: faults::Faults::default(),
            started: Instant::now(),
            calls: Mutex::default(),
            violations: AtomicU64::new(0),
            full: AtomicU64::new(0),
            conditional: AtomicU64::new(0),
            not_modified: AtomicU64::new(0),
            if_none_match: Mutex::default(),
        }
    }
}

/// Answers the requests of one connection until it closes.
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let mut stream = BufReader::new(stream);
    while let Some(head) = read_head(&mut stream).await {
        if !head.unreadable_body && head.body_len > 0 {
            let mut body = (&mut stream).take(head.body_len);
            if tokio::io::copy(&mut body, &mut tokio::io::sink())
                .await
                .ok()
                != Some(head.body_len)
            {
                return;
            }
        }
        let counter = if head.conditional.is_conditional() {
            &shared.conditional
        } else {
            &shared.full
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(tag) = &head.conditional.if_none_match {
            shared
                .if_none_match
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(tag.clone());
        }
        if let Some(status) = shared.faults.take() {
            let close = head.unreadable_body || head.close;
            let mut response = faults::Faults::status_line(status);
            response.push_str(if status == 304 {
                ""
            } else {
                "content-length: 0\r\n"
            });
            response.push_str(if close {
                "connection: close\r\n\r\n"
            } else {
                "\r\n"
            });
            if stream
                .get_mut()
                .write_all(response.as_bytes())
                .await
                .is_err()
                || close
            {
                return;
            }
            continue;
        }
        let caching = shared
            .caching
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut answer = answer(&shared, &head.path);
        tokio::time::sleep(shared.config.latency).await;
        let ok = answer.status == "200 OK";
        let caching_lines = if ok {
            caching::header_lines(&caching, &answer.body)
        } else {
            String::new()
        };
        let mut response = if ok && caching::not_modified(&caching, &head.conditional, &answer.body)
        {
            shared.not_modified.fetch_add(1, Ordering::Relaxed);
            answer.body.clear();
            "HTTP/1.1 304 Not Modified\r\n".to_owned()
        } else {
            format!(
                "HTTP/1.1 {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                answer.status,
                answer.body.len()
            )
        };
        response.push_str(&caching_lines);
        if let Some(seconds) = answer.retry_after {
            response.push_str(&format!("retry-after: {seconds}\r\n"));
        }
        let close = head.unreadable_body || head.close;
        if close {
            response.push_str("connection: close\r\n");
        }
        response.push_str("\r\n");
        let inner = stream.get_mut();
        let body: &[u8] = if head.method.eq_ignore_ascii_case("HEAD") {
            &[]
        } else {
            answer.body.as_bytes()
        };
        if inner.write_all(response.as_bytes()).await.is_err()
            || inner.write_all(body).await.is_err()
            || close
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bodies::list_body;
    use serde_json::Value;
    use tokio::io::AsyncBufReadExt;

    fn shared(limit: usize, retry_after: Option<Duration>) -> Shared {
        let config = StubConfig {
            limit,
            window: Duration::from_secs(60),
            latency: Duration::ZERO,
            retry_after,
        };
        Shared::new(config, StubCaching::sparse())
    }

    #[test]
    fn answers_420_over_the_limit_and_counts_it() {
        let s = shared(2, None);
        assert_eq!(answer(&s, "/api/issues/?limit=1").status, "200 OK");
        assert_eq!(answer(&s, "/api/issues/?limit=2").status, "200 OK");
        let over = answer(&s, "/api/issues/?limit=3");
        assert_eq!(over.status, "420 Enhance Your Calm");
        assert!(over.body.contains("Slow down cowboy"));
        assert_eq!(over.retry_after, None);
        assert_eq!(s.violations.load(Ordering::Relaxed), 1);
        assert_eq!(
            answer(&s, "/api/volumes/").status,
            "200 OK",
            "limits are per resource"
        );
        let calls = s.calls.lock().unwrap();
        let logged: Vec<(&str, usize)> = calls
            .log
            .iter()
            .map(|c| (c.resource.as_str(), c.in_window))
            .collect();
        assert_eq!(
            logged,
            [("issues", 1), ("issues", 2), ("issues", 3), ("volumes", 1)]
        );
        assert!(calls.log.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn sends_retry_after_in_whole_seconds_when_configured() {
        let s = shared(0, Some(Duration::from_millis(1500)));
        assert_eq!(answer(&s, "/api/issues/").retry_after, Some(2));
    }

    #[test]
    fn answers_single_objects_and_404_for_missing_ones() {
        let s = shared(10, None);
        let found = answer(&s, "/api/issue/4000-7/?format=json");
        assert_eq!(found.status, "200 OK");
        let v: Value = serde_json::from_str(&found.body).unwrap();
        assert_eq!(v["results"]["id"], 7);
        for missing in ["/api/issue/4000-0/", "/api/issue/nope/", "/api/"] {
            let a = answer(&s, missing);
            assert_eq!(a.status, "404 Not Found", "{missing}");
            assert!(a.body.contains("Object Not Found"));
        }
        let search = answer(&s, "/api/search/?query=batman&resources=volume");
        assert_eq!(search.status, "200 OK");
        assert_eq!(s.calls.lock().unwrap().per_resource["issue"].1, 3);
    }

    #[test]
    fn some_responses_are_over_400_kb() {
        let sizes: Vec<usize> = (0..64)
            .map(|i| {
                list_body("issues", &format!("/api/issues/?offset={i}"))
                    .to_string()
                    .len()
            })
            .collect();
        assert!(sizes.iter().any(|&n| n > 400 * 1024), "{sizes:?}");
        assert!(
            sizes.iter().filter(|&&n| n < 10 * 1024).count() > 32,
            "{sizes:?}"
        );
        assert_eq!(list_body("issues", "/x")["status_code"], 1);
    }

    #[tokio::test]
    async fn serves_any_method_over_keep_alive_and_counts_every_call() {
        let api = StubApi::start(StubConfig::default()).await.unwrap();
        let mut conn = connect(&api).await;
        let requests = concat!(
            "POST /api/issues/ HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello",
            "GET /api/issue/4000-0/ HTTP/1.1\r\nhost: x\r\n\r\n",
            "HEAD /api/volumes/ HTTP/1.1\r\nhost: x\r\n\r\n",
        );
        conn.get_mut().write_all(requests.as_bytes()).await.unwrap();
        let mut statuses = Vec::new();
        for method in ["POST", "GET", "HEAD"] {
            let (status, _, length) = read_head(&mut conn).await;
            statuses.push(status);
            if method != "HEAD" {
                let mut body = vec![0; length];
                conn.read_exact(&mut body).await.unwrap();
            }
        }
        assert_eq!(
            statuses,
            [
                "HTTP/1.1 200 OK",
                "HTTP/1.1 404 Not Found",
                "HTTP/1.1 200 OK"
            ]
        );
        assert_eq!(
            (
                api.calls_to("issues"),
                api.calls_to("issue"),
                api.total_calls()
            ),
            (1, 1, 3)
        );
    }

    /// A fresh connection to the stub's port.
    async fn connect(api: &StubApi) -> BufReader<TcpStream> {
        let addr = api
            .url()
            .trim_start_matches("http://")
            .trim_end_matches("/api");
        BufReader::new(TcpStream::connect(addr).await.unwrap())
    }

    /// Reads a response's head: the status line, the header lines and the
    /// `content-length` (0 without one).
    async fn read_head(conn: &mut BufReader<TcpStream>) -> (String, Vec<String>, usize) {
        let mut status = String::new();
        conn.read_line(&mut status).await.unwrap();
        let (mut headers, mut length) = (Vec::new(), 0);
        loop {
            let mut header = String::new();
            conn.read_line(&mut header).await.unwrap();
            if header == "\r\n" {
                break;
            }
            if let Some(v) = header.strip_prefix("content-length: ") {
                length = v.trim().parse().unwrap();
            }
            headers.push(header.trim().to_owned());
        }
        (status.trim().to_owned(), headers, length)
    }

    /// One GET over a fresh connection: the status line, header lines and body.
    async fn get(api: &StubApi, path: &str, extra: &str) -> (String, Vec<String>, String) {
        let mut conn = connect(api).await;
        let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\n{extra}\r\n");
        conn.get_mut().write_all(request.as_bytes()).await.unwrap();
        let (status, headers, length) = read_head(&mut conn).await;
        let mut body = vec![0; length];
        conn.read_exact(&mut body).await.unwrap();
        (status, headers, String::from_utf8(body).unwrap())
    }

    #[tokio::test]
    async fn full_caching_sends_validators_and_answers_304_to_matching_conditional_requests() {
        let api = StubApi::start_with_caching(
            StubConfig::default(),
            StubCaching::full(Duration::from_secs(60)),
        )
        .await
        .unwrap();
        let (status, headers, body) = get(&api, "/api/issue/4000-7/", "").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(
            headers.contains(&"cache-control: max-age=60".to_owned()),
            "{headers:?}"
        );
        let etag = headers
            .iter()
            .find_map(|h| h.strip_prefix("etag: "))
            .unwrap()
            .to_owned();
        assert_eq!(etag, caching::etag(&body));
        let (status, headers, body) = get(
            &api,
            "/api/issue/4000-7/",
            &format!("if-none-match: {etag}\r\n"),
        )
        .await;
        assert_eq!(
            (status.as_str(), body.as_str()),
            ("HTTP/1.1 304 Not Modified", "")
        );
        assert!(headers.contains(&format!("etag: {etag}")), "{headers:?}");
        let since = format!("if-modified-since: {LAST_MODIFIED}\r\n");
        assert_eq!(
            get(&api, "/api/issue/4000-7/", &since).await.0,
            "HTTP/1.1 304 Not Modified"
        );
        let other = get(
            &api,
            "/api/issue/4000-8/",
            &format!("if-none-match: {etag}\r\n"),
        )
        .await;
        assert_eq!(other.0, "HTTP/1.1 200 OK");
        assert_eq!(
            (
                api.full_requests(),
                api.conditional_requests(),
                api.not_modified()
            ),
            (1, 3, 2)
        );
        assert_eq!(api.calls_to("issue"), 4);
    }

    #[tokio::test]
    async fn sparse_by_default_like_comic_vine_but_still_counts_conditional_requests() {
        let api = StubApi::start(StubConfig::default()).await.unwrap();
        let (status, headers, body) = get(&api, "/api/issue/4000-7/", "if-none-match: *\r\n").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(
            headers.len(),
            2,
            "only content-type and length: {headers:?}"
        );
        assert!(body.contains("issue 4000-7"));
        assert_eq!(
            (
                api.full_requests(),
                api.conditional_requests(),
                api.not_modified()
            ),
            (0, 1, 0)
        );
    }
}

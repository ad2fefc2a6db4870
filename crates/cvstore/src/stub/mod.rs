//! A stub of the Comic Vine API on 127.0.0.1: enforces a per-resource limit per window
//! the way Comic Vine does (HTTP 420 with its "slow down" message), counts every call
//! over the limit as a violation, and answers with JSON sized like real responses
//! (most a few KB, some list responses over 400 KB).
//!
//! A plain HTTP/1.1 server on tokio (keep-alive, GET only): enough for the demo and the
//! tests, with no server framework to build.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the stub enforces and how it answers.
#[derive(Clone, Debug)]
pub struct StubConfig {
    /// Calls allowed per resource and window.
    pub limit: usize,
    /// The window.
    pub window: Duration,
    /// Time taken by every answer.
    pub latency: Duration,
}

#[derive(Debug, Default)]
struct Calls {
    /// Per resource: call times still in the window, and the total.
    per_resource: HashMap<String, (Vec<Instant>, usize)>,
}

#[derive(Debug)]
struct Shared {
    config: StubConfig,
    calls: Mutex<Calls>,
    violations: AtomicU64,
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
    pub async fn start(config: StubConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/api", listener.local_addr()?);
        let shared = Arc::new(Shared {
            config,
            calls: Mutex::default(),
            violations: AtomicU64::new(0),
        });
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

    /// Calls made, per resource.
    pub fn calls_per_resource(&self) -> HashMap<String, usize> {
        let calls = self.shared.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls
            .per_resource
            .iter()
            .map(|(r, (_, total))| (r.clone(), *total))
            .collect()
    }
}

/// Answers the requests of one connection until it closes.
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let mut stream = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        match stream.read_line(&mut request_line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        // Skip the headers (GET requests carry no body).
        loop {
            let mut header = String::new();
            match stream.read_line(&mut header).await {
                Ok(0) | Err(_) => return,
                Ok(_) if header == "\r\n" || header == "\n" => break,
                Ok(_) => {}
            }
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("/");
        let (status, body) = answer(&shared, path);
        tokio::time::sleep(shared.config.latency).await;
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let inner = stream.get_mut();
        if inner.write_all(head.as_bytes()).await.is_err()
            || inner.write_all(body.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

/// The status line and body for `path` (`/api/<resource>/…`), counting the call.
fn answer(shared: &Shared, path: &str) -> (&'static str, String) {
    let resource = path
        .trim_start_matches("/api/")
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_owned();
    if resource.is_empty() {
        return (
            "404 Not Found",
            json!({"error": "Object Not Found", "status_code": 101}).to_string(),
        );
    }
    let over = {
        let mut calls = shared.calls.lock().unwrap_or_else(|p| p.into_inner());
        let (recent, total) = calls.per_resource.entry(resource.clone()).or_default();
        let now = Instant::now();
        recent.retain(|&t| now.duration_since(t) < shared.config.window);
        recent.push(now);
        *total += 1;
        recent.len() > shared.config.limit
    };
    if over {
        shared.violations.fetch_add(1, Ordering::Relaxed);
        let body = json!({"error": "Rate Limit Exceeded. Slow down cowboy.", "status_code": 107});
        return ("420 Enhance Your Calm", body.to_string());
    }
    ("200 OK", response_body(&resource, path))
}

/// A Comic Vine-shaped list response whose size depends on the request: one request
/// in eight is a big list (about 600 KB), the others a few KB.
fn response_body(resource: &str, path: &str) -> String {
    let seed = path.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let results = if seed % 8 == 0 {
        1_500
    } else {
        4 + (seed % 12) as usize
    };
    let items: Vec<_> = (0..results)
        .map(|i| {
            json!({
                "id": i, "name": format!("{resource} #{i}"),
                "deck": format!("Result {i} of {path}, as the stub API tells it, with a deck of some length."),
                "api_detail_url": format!("https://comicvine.gamespot.com/api/{resource}/4000-{i}/"),
                "image": {"original_url": format!("https://comicvine.gamespot.com/a/uploads/original/{seed:x}/{i}.jpg")},
                "date_added": "2008-06-06 11:10:16",
            })
        })
        .collect();
    json!({"error": "OK", "limit": 100, "offset": 0, "number_of_page_results": results,
           "number_of_total_results": results, "status_code": 1, "results": items})
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(limit: usize) -> Shared {
        Shared {
            config: StubConfig {
                limit,
                window: Duration::from_secs(60),
                latency: Duration::ZERO,
            },
            calls: Mutex::default(),
            violations: AtomicU64::new(0),
        }
    }

    #[test]
    fn answers_420_over_the_limit_and_counts_it() {
        let s = shared(2);
        assert_eq!(answer(&s, "/api/issues/?limit=1").0, "200 OK");
        assert_eq!(answer(&s, "/api/issues/?limit=2").0, "200 OK");
        let (status, body) = answer(&s, "/api/issues/?limit=3");
        assert_eq!(status, "420 Enhance Your Calm");
        assert!(body.contains("Slow down cowboy"));
        assert_eq!(s.violations.load(Ordering::Relaxed), 1);
        assert_eq!(
            answer(&s, "/api/volumes/").0,
            "200 OK",
            "limits are per resource"
        );
    }

    #[test]
    fn some_responses_are_over_400_kb() {
        let sizes: Vec<usize> = (0..64)
            .map(|i| response_body("issues", &format!("/api/issues/?offset={i}")).len())
            .collect();
        assert!(sizes.iter().any(|&n| n > 400 * 1024), "{sizes:?}");
        assert!(
            sizes.iter().filter(|&&n| n < 10 * 1024).count() > 32,
            "{sizes:?}"
        );
        let v: serde_json::Value = serde_json::from_str(&response_body("issues", "/x")).unwrap();
        assert_eq!(v["status_code"], 1);
    }
}

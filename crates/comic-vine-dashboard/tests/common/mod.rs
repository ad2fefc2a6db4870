//! A dashboard over in-memory stores that a background task keeps granting into.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use comic_vine_dashboard::{CircuitView, Dashboard, DashboardOptions, KnownKeys, StoreSource};
use comic_vine_store::memory::{
    MemoryAdaptiveRateLimitStore, MemoryCacheStore, MemoryDedupeStore, MemoryRateLimitStore,
};
use comic_vine_store::{
    AdaptiveConfig, AdaptiveRateLimitStore, CacheStore, DedupeStore, JobId, ManualClock, Priority,
    RateLimit, RateLimitConfig, RateLimitStore, Timestamp,
};
use tokio::task::JoinHandle;

/// The resources shown, with their limits per 3 s window.
pub const RESOURCES: [(&str, u32); 3] = [("issues", 20), ("volumes", 12), ("characters", 8)];

/// A resource shown but never granted into by the background task (default limit 10).
pub const QUIET: &str = "quiet";

/// The request keys the dashboard knows, as (resource, key): `key-0`…`key-2` are cached
/// (`{"i":N}`, 7 bytes of JSON each; `key-3` and `key-4` are cached but not known), the
/// `job-…` keys have dedupe jobs, `search` is a resource only a key names.
pub const KNOWN: [(&str, &str); 6] = [
    ("issues", "key-0"),
    ("issues", "key-1"),
    ("volumes", "key-2"),
    ("issues", "job-pending"),
    ("volumes", "job-done"),
    ("search", "job-failed"),
];

/// The dedupe jobs of the fixture.
pub struct Jobs {
    /// The dedupe store's clock: `job-pending` registered at `t0`, `job-done` at
    /// `t0 + 1 s` (completed then), `job-failed` at `t0 + 2 s` (failed with `upstream 500`).
    pub t0: Timestamp,
    pub pending: JobId,
    pub done: JobId,
    pub failed: JobId,
}

pub struct Fixture {
    pub dashboard: Dashboard,
    pub jobs: Jobs,
    pub plain: Arc<MemoryRateLimitStore>,
    pub adaptive: Arc<MemoryAdaptiveRateLimitStore>,
    pub cache: Arc<MemoryCacheStore>,
    granter: JoinHandle<()>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.granter.abort();
    }
}

pub fn limits() -> RateLimitConfig {
    let window = Duration::from_secs(3);
    let mut config = RateLimitConfig::new(RateLimit::new(10, window).unwrap());
    for (name, limit) in RESOURCES {
        config = config
            .with_resource(name, RateLimit::new(limit, window).unwrap())
            .unwrap();
    }
    config
}

/// Starts the stores, a granting task and a dashboard with `options`; `adaptive` adds
/// the adaptive limiter's rows.
pub async fn start(options: DashboardOptions, adaptive_rows: bool) -> Fixture {
    let plain = Arc::new(MemoryRateLimitStore::new(limits()));
    let adaptive =
        Arc::new(MemoryAdaptiveRateLimitStore::new(limits(), AdaptiveConfig::default()).unwrap());
    let cache = Arc::new(MemoryCacheStore::new());
    for i in 0..5 {
        cache
            .set(&format!("key-{i}"), &serde_json::json!({"i": i}), None)
            .await
            .unwrap();
    }
    let clock = ManualClock::starting_now();
    let dedupe = Arc::new(MemoryDedupeStore::new().with_clock(Arc::new(clock.clone())));
    let t0 = comic_vine_store::Clock::now(&clock);
    let step = Duration::from_secs(1);
    let pending = dedupe.register("job-pending").await.unwrap();
    clock.advance(step);
    let done = dedupe.register("job-done").await.unwrap();
    dedupe
        .complete("job-done", &done, &serde_json::json!({"ok": true}))
        .await
        .unwrap();
    clock.advance(step);
    let failed = dedupe.register("job-failed").await.unwrap();
    dedupe
        .fail("job-failed", &failed, "upstream 500")
        .await
        .unwrap();
    let known = Arc::new(KnownKeys::new(100));
    for (resource, key) in KNOWN {
        known.record(resource, key);
    }
    let jobs = Jobs {
        t0,
        pending,
        done,
        failed,
    };
    let names = RESOURCES.map(|(n, _)| n).into_iter().chain([QUIET]);
    let mut source = StoreSource::new(names)
        .with_rate_limits(plain.clone())
        .with_cache(cache.clone())
        .with_dedupe(dedupe)
        .with_known_keys(known)
        .with_circuit(Arc::new(|| {
            Some(CircuitView {
                state: "closed".into(),
                failures: 0,
                next_attempt: None,
            })
        }));
    if adaptive_rows {
        source = source.with_adaptive(adaptive.clone());
    }
    let dashboard = Dashboard::start(Arc::new(source), options).await.unwrap();
    let (p, a) = (plain.clone(), adaptive.clone());
    let granter = tokio::spawn(async move {
        // Bursts of different lengths per resource, so the series rise and fall.
        let mut n: u64 = 0;
        loop {
            n += 1;
            for (i, (name, _)) in RESOURCES.into_iter().enumerate() {
                if (n / (25 * (i as u64 + 1))) % 2 == 1 {
                    continue;
                }
                let _ = p.try_acquire(name).await;
                let priority = if n.is_multiple_of(3) {
                    Priority::User
                } else {
                    Priority::Background
                };
                let _ = a.try_acquire(name, priority).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    Fixture {
        dashboard,
        jobs,
        plain,
        adaptive,
        cache,
        granter,
    }
}

/// One HTTP/1 request over a fresh connection (hyper's client), with `host` as the
/// `Host` header (`None`: the server's own address).
pub async fn request(
    dashboard: &Dashboard,
    method: &str,
    path: &str,
    host: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
    let stream = tokio::net::TcpStream::connect(dashboard.addr())
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let own = dashboard.addr().to_string();
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", host.unwrap_or(&own));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(bytes::Bytes::from(body.to_owned())))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

pub async fn get_json(dashboard: &Dashboard, path: &str) -> serde_json::Value {
    let (status, body) = request(dashboard, "GET", path, None, &[], "").await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The CSRF token the page carries (empty when read-only).
pub async fn page_token(dashboard: &Dashboard) -> String {
    let (_, page) = request(dashboard, "GET", "/", None, &[], "").await;
    let marker = "name=\"csrf-token\" content=\"";
    let start = page.find(marker).unwrap() + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

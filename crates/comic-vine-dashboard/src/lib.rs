//! A local web dashboard of the stores: the rate limits of each resource (used/limit,
//! reset, cooldown, adaptive split) with a live chart of grants against the limit, the
//! cache's size (per resource too, over the [`KnownKeys`] of a source), the dedupe jobs
//! in flight, and the breaker's state. Plain HTML/CSS/JS embedded in the binary
//! (nothing is fetched from the internet), a JSON API under `/api/…` for scripts.
//!
//! Safe by default: it listens on 127.0.0.1 only (another address needs an explicit
//! [`DashboardOptions::bind`]), answers only requests whose `Host` names that address
//! (against DNS rebinding), and is read-only unless [`DashboardOptions::allow_writes`]:
//! then resets and cache deletions are POSTs carrying the page's CSRF token.
//!
//! ```no_run
//! use std::sync::Arc;
//! use comic_vine_dashboard::{Dashboard, DashboardOptions, StoreSource};
//! use comic_vine_store::memory::MemoryRateLimitStore;
//! use comic_vine_store::RateLimitConfig;
//!
//! # async fn run() -> Result<(), comic_vine_dashboard::DashboardError> {
//! let limiter = Arc::new(MemoryRateLimitStore::new(RateLimitConfig::comic_vine()));
//! let source = StoreSource::new(["issues", "volumes"]).with_rate_limits(limiter);
//! let dashboard = Dashboard::start(Arc::new(source), DashboardOptions::default()).await?;
//! println!("dashboard at {}", dashboard.url());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod api;
mod assets;
mod by_store;
mod error;
mod history;
mod known;
mod lookup;
mod routes;
mod server;
mod source;
mod usage;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub use error::DashboardError;
pub use known::{Basis, CacheBreakdown, DedupeView, JobView, KnownKeys, ResourceCache};
pub use server::Dashboard;
pub use source::{
    CircuitFn, CircuitView, DashboardSource, Limiter, ResourceId, Sample, StoreSource,
};
pub use usage::{UsageFn, UsageView};

/// How the dashboard listens and what it allows.
#[derive(Clone, Debug)]
pub struct DashboardOptions {
    addr: SocketAddr,
    explicit_bind: bool,
    allow_writes: bool,
    sample_interval: Duration,
    history: Duration,
    body_limit: usize,
}

impl Default for DashboardOptions {
    /// 127.0.0.1 on a free port, read-only, sampling every 500 ms, 60 s of history,
    /// request bodies up to 16 KiB.
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            explicit_bind: false,
            allow_writes: false,
            sample_interval: Duration::from_millis(500),
            history: Duration::from_secs(60),
            body_limit: 16 * 1024,
        }
    }
}

impl DashboardOptions {
    /// Listens on 127.0.0.1:`port` (0: a free port).
    pub fn port(mut self, port: u16) -> Self {
        self.addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        self.explicit_bind = false;
        self
    }

    /// Listens on `addr`, which must be a loopback address (else
    /// [`DashboardError::NotLoopback`] at start).
    pub fn address(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self.explicit_bind = false;
        self
    }

    /// Listens on `addr`, which may be a non-loopback address: the explicit opt-in to
    /// serving the dashboard to other machines (it has no authentication).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self.explicit_bind = true;
        self
    }

    /// Allows the mutations (reset a resource, delete a cache entry, clear the cache).
    pub fn allow_writes(mut self, allow: bool) -> Self {
        self.allow_writes = allow;
        self
    }

    /// How often the server samples each resource's `status()` for the chart.
    pub fn sample_interval(mut self, interval: Duration) -> Self {
        self.sample_interval = interval;
        self
    }

    /// How far back the chart's history reaches.
    pub fn history(mut self, history: Duration) -> Self {
        self.history = history;
        self
    }

    /// The largest request body accepted, in bytes (larger ones: 413).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    fn validate(&self) -> Result<(), DashboardError> {
        if !self.explicit_bind && !self.addr.ip().is_loopback() {
            return Err(DashboardError::NotLoopback { addr: self.addr });
        }
        let invalid = |option, reason: &str| DashboardError::InvalidOption {
            option,
            reason: reason.to_owned(),
        };
        if self.sample_interval < Duration::from_millis(10) {
            return Err(invalid("sample_interval", "must be at least 10 ms"));
        }
        if self.history < self.sample_interval {
            return Err(invalid("history", "must be at least the sample interval"));
        }
        if self.history_capacity() > 100_000 {
            return Err(invalid("history", "holds more than 100000 samples"));
        }
        if self.body_limit == 0 {
            return Err(invalid("body_limit", "must be positive"));
        }
        Ok(())
    }

    /// Samples per ring buffer.
    fn history_capacity(&self) -> usize {
        let n = self.history.as_millis() / self.sample_interval.as_millis().max(1);
        usize::try_from(n).unwrap_or(usize::MAX).saturating_add(1)
    }
}

/// The shared state of one running dashboard.
struct State {
    source: Arc<dyn DashboardSource>,
    history: Arc<history::History>,
    token: String,
    allow_writes: bool,
    allowed_hosts: Vec<String>,
    body_limit: usize,
    options: DashboardOptions,
}

//! The rate-limiting contract.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::adaptive::AdaptiveStatus;
use crate::clock::Timestamp;
use crate::error::StoreResult;

/// The outcome of one `try_acquire`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the request may go now (and was counted).
    pub granted: bool,
    /// Requests still allowed in the current window after this decision.
    pub remaining: u32,
    /// The resource's limit per window.
    pub limit: u32,
    /// When the oldest counted request leaves the window (a slot frees).
    pub reset_at: Timestamp,
    /// How long to wait before trying again; zero when granted.
    pub wait: Duration,
    /// The time recorded for this grant (never below an earlier grant's time).
    pub granted_at: Option<Timestamp>,
}

/// What `status` reports for one resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateLimitStatus {
    /// Requests still allowed in the current window.
    pub remaining: u32,
    /// The resource's limit per window.
    pub limit: u32,
    /// The window length.
    pub window: Duration,
    /// When the oldest counted request leaves the window.
    pub reset_at: Timestamp,
    /// A fleet-wide cooldown in force until then (after an upstream 429/420), if any.
    pub cooldown_until: Option<Timestamp>,
    /// The adaptive split, for adaptive stores.
    pub adaptive: Option<AdaptiveStatus>,
}

/// A sliding-window rate limiter shared by every process using the store.
///
/// The guarantee: across all callers sharing the backend, no interval of one window
/// length holds more than `limit` granted requests. Use
/// [`try_acquire`](Self::try_acquire), which checks and counts in one atomic step;
/// `can_proceed` followed by `record` (the original's two calls) is racy by nature
/// and kept only for compatibility.
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Atomically checks the limit and, if a request may go, counts it.
    async fn try_acquire(&self, resource: &str) -> StoreResult<Decision>;

    /// Whether a request could go now, without counting it.
    async fn can_proceed(&self, resource: &str) -> StoreResult<bool>;

    /// Counts a request that was made (atomically, even over the limit).
    async fn record(&self, resource: &str) -> StoreResult<()>;

    /// The current window of `resource`.
    async fn status(&self, resource: &str) -> StoreResult<RateLimitStatus>;

    /// Forgets every counted request (and any cooldown) of `resource`.
    async fn reset(&self, resource: &str) -> StoreResult<()>;

    /// How long until a request may go; zero if it may go now.
    async fn wait_time(&self, resource: &str) -> StoreResult<Duration>;

    /// Stops every caller from being granted `resource` until `until` (e.g. after the
    /// upstream answered 429 or Comic Vine's 420). A later cooldown never shortens an
    /// earlier one.
    async fn cooldown(&self, resource: &str, until: Timestamp) -> StoreResult<()>;
}

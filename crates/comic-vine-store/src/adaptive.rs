//! The priority-aware (adaptive) rate-limiting contract.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::{StoreError, StoreResult};
use crate::rate_limit::{Decision, RateLimitStatus};

/// Who is waiting for a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// A person is waiting for the answer.
    User,
    /// Nobody is waiting (prefetch, sync jobs); the default.
    #[default]
    Background,
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::User => "user",
            Self::Background => "background",
        })
    }
}

impl FromStr for Priority {
    type Err = StoreError;
    fn from_str(s: &str) -> StoreResult<Self> {
        match s {
            "user" => Ok(Self::User),
            "background" => Ok(Self::Background),
            other => Err(StoreError::invalid_input(
                "priority",
                format!("{other:?} is neither \"user\" nor \"background\""),
            )),
        }
    }
}

/// Direction of recent user activity: the newest third of the monitoring window
/// compared with the third before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// More than 1.5× the previous third.
    Increasing,
    /// Between 0.5× and 1.5×.
    Stable,
    /// Less than 0.5× the previous third.
    Decreasing,
    /// No user requests in either third.
    None,
}

/// The adaptive split reported by `status().adaptive`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdaptiveStatus {
    /// Requests per window kept for users.
    pub user_reserved: u32,
    /// The most background requests per window.
    pub background_max: u32,
    /// Whether background requests are paused.
    pub background_paused: bool,
    /// User requests in the monitoring window.
    pub recent_user_activity: u32,
    /// The user activity trend.
    pub trend: Trend,
    /// Why the split is what it is, in words.
    pub reason: String,
    /// When this split was calculated (it holds for the recalculation interval).
    pub calculated_at: Timestamp,
}

/// A rate limiter that splits each resource's limit between [`Priority::User`] and
/// [`Priority::Background`] requests according to recent user activity, shared by
/// every process using the store.
///
/// The whole-limit guarantee of [`crate::RateLimitStore`] holds for the sum of both
/// priorities. Background requests never take more than `background_max`, so at least
/// `user_reserved` requests per window stay free for users; users may also use any
/// capacity background leaves free.
#[async_trait]
pub trait AdaptiveRateLimitStore: Send + Sync {
    /// Atomically checks the limit for `priority` and, if the request may go, counts it.
    async fn try_acquire(&self, resource: &str, priority: Priority) -> StoreResult<Decision>;

    /// Whether a request of `priority` could go now, without counting it.
    async fn can_proceed(&self, resource: &str, priority: Priority) -> StoreResult<bool>;

    /// Counts a request of `priority` that was made.
    async fn record(&self, resource: &str, priority: Priority) -> StoreResult<()>;

    /// The current window and adaptive split of `resource`.
    async fn status(&self, resource: &str) -> StoreResult<RateLimitStatus>;

    /// Forgets all counted requests, activity and cooldown of `resource`.
    async fn reset(&self, resource: &str) -> StoreResult<()>;

    /// How long until a request of `priority` may go; zero if it may go now.
    async fn wait_time(&self, resource: &str, priority: Priority) -> StoreResult<Duration>;

    /// Stops every caller from being granted `resource` until `until`.
    async fn cooldown(&self, resource: &str, until: Timestamp) -> StoreResult<()>;
}

//! What goes into a pipeline and what comes out.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::adaptive::Priority;
use crate::cache::resource_key;
use crate::hash::hash_request;

/// One API request.
#[derive(Clone, Debug)]
pub struct Request {
    pub(super) endpoint: String,
    pub(super) params: Value,
    pub(super) resource: String,
    pub(super) priority: Priority,
}

impl Request {
    /// A background request for `endpoint` with `params`, limited as `resource`.
    pub fn new(endpoint: impl Into<String>, params: Value, resource: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            params,
            resource: resource.into(),
            priority: Priority::Background,
        }
    }

    /// The same request with another priority.
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// The resource it is limited as.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The request's key in the cache and dedupe stores: `<resource>/<hash>`
    /// ([`resource_key`] of its resource and [`hash_request`] of its endpoint and
    /// params), so its cache entry is one of its resource's (see
    /// [`CacheStore::purge_resource`](crate::CacheStore::purge_resource)).
    pub fn hash(&self) -> String {
        resource_key(&self.resource, &hash_request(&self.endpoint, &self.params))
    }
}

/// Which stage answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServedBy {
    /// The cache, with a fresh entry.
    Cache,
    /// Another caller's in-flight request.
    DedupeJoin,
    /// The upstream API.
    Upstream,
    /// The cache, after upstream confirmed the stale entry is current
    /// ([`UpstreamError::NotModified`](super::UpstreamError::NotModified)); the entry is
    /// fresh again.
    Revalidated,
    /// The cache, with an entry past its freshness (see [`Response::stale`]).
    Stale,
}

/// Why a stale entry answered (see [`StalePolicy`](super::StalePolicy)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaleReason {
    /// Within `stale_while_revalidate`: a refresh runs in the background.
    WhileRevalidate,
    /// Within `stale_if_error`: upstream (or the job this request joined) failed.
    Error,
    /// Within `stale_if_rate_limited`: the rate limit budget is spent or a cooldown runs.
    RateLimited,
}

/// The answer to a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Response<V> {
    /// The value.
    pub value: V,
    /// Who answered.
    pub served_by: ServedBy,
    /// Denials the owner waited out before calling upstream (0 unless `Upstream`).
    pub rate_limit_waits: u32,
    /// Whether a shared store was unavailable and the outage fallback served instead.
    pub degraded: bool,
    /// How old the answer is: the cache entry's age (zero when fetched for this request).
    pub age: Duration,
    /// Why a stale entry answered (`Some` exactly when `served_by` is `Stale`).
    pub stale: Option<StaleReason>,
}

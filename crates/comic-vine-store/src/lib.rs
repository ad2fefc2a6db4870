//! Store traits, pure algorithms, request hashing and in-memory stores for API
//! clients that share one budget across many processes: a response cache, request
//! deduplication, rate limiting and priority-aware (adaptive) rate limiting.
//!
//! - Contracts: [`CacheStore`], [`DedupeStore`], [`RateLimitStore`],
//!   [`AdaptiveRateLimitStore`] (object safe, `Send + Sync`, async).
//! - Policy: [`algorithm`] holds the pure decisions (sliding window, adaptive split),
//!   shared by every backend; time is injected through [`clock`].
//! - Atomic state: [`cell`] holds [`cell::StateCell`], the one primitive a backend
//!   provides for the rate-limit, adaptive and dedupe stores.
//! - Storage: [`memory`] holds the embedded in-memory stores, the reference behaviour;
//!   the DynamoDB backend lives in the `comic-vine-dynamodb-store` crate.
//! - [`hash_request`] computes the request key the TypeScript client computes.
//! - Exactness: values come back as serde_json reads them. A [`serde_json::Value`] holds
//!   every `f64` and every integer within `i64`/`u64` exactly (integers beyond 64 bits
//!   become lossy `f64`s; at most 127 nested levels parse); [`RawJson`] keeps any JSON
//!   text byte for byte. See [`json`].
//!
//! ```
//! use std::time::Duration;
//! use comic_vine_store::memory::{MemoryCacheStore, MemoryRateLimitStore};
//! use comic_vine_store::{hash_request, CacheStore, RateLimitConfig, RateLimitStore};
//!
//! async fn fetch_issues() -> Result<(), comic_vine_store::StoreError> {
//!     let limiter = MemoryRateLimitStore::new(RateLimitConfig::comic_vine()); // 200 / resource / hour
//!     let cache: MemoryCacheStore = MemoryCacheStore::new();
//!
//!     let key = hash_request("issues/list", &serde_json::json!({"limit": 100}));
//!     if cache.get(&key).await?.is_none() {
//!         let decision = limiter.try_acquire("issues").await?;
//!         if decision.granted {
//!             let body = serde_json::json!({"results": []}); // call the API here
//!             cache.set(&key, &body, Some(Duration::from_secs(3600))).await?;
//!         } else {
//!             println!("retry in {:?}", decision.wait);
//!         }
//!     }
//!     Ok(())
//! }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
//! #     .block_on(fetch_issues()).unwrap();
//! ```

#![warn(missing_docs)]

pub mod adaptive;
pub mod algorithm;
pub mod builder;
pub mod cache;
pub mod cell;
pub mod clock;
pub mod config;
pub mod dedupe;
pub mod error;
pub mod hash;
pub mod json;
pub mod memory;
pub mod pipeline;
pub mod rate_limit;
pub mod validate;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use adaptive::{AdaptiveRateLimitStore, AdaptiveStatus, Priority, Trend};
pub use cache::{
    CacheEntry, CacheStats, CacheStore, EntryTimes, Freshness, HealthStatus, MAX_VALUE_BYTES,
};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock, Timestamp};
pub use config::{AdaptiveConfig, CacheConfig, DedupeConfig, RateLimit, RateLimitConfig};
pub use dedupe::{DedupeStore, JobId, JobInfo, JobOutcome, JobState, Registration, Seen};
pub use error::{StoreError, StoreResult};
pub use hash::hash_request;
pub use json::{JsonError, RawJson};
pub use rate_limit::{Decision, RateLimitStatus, RateLimitStore};

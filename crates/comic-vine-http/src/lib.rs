//! The HTTP-facing logic of the `comic-vine-store` request pipeline, written once over
//! the `http` types and shared by the client adapters: `comic-vine-reqwest`
//! (reqwest-middleware) and `comic-vine-tower` (any tower HTTP client, e.g. hyper-util's).
//!
//! - [`HttpPipeline`]: which requests go through the
//!   [`Pipeline`](comic_vine_store::pipeline::Pipeline), their key (credentials
//!   stripped), their rate-limit resource, the 429/420 cooldown with `Retry-After`, and
//!   what reaches the caller ([`Outcome`]).
//! - [`CachedResponse`]: what the stores keep of a 2xx answer, and the
//!   `http::Response` it becomes, marked with how it was served ([`Served`],
//!   [`SERVED_BY_HEADER`], [`ResponseExt`]).
//! - [`UpstreamResponse`]: the little an adapter tells of its client's responses.
//! - RFC 9111 rules as a shared cache, as pure functions: [`freshness`] (with
//!   [`FreshnessRules`] overrides), validators ([`revalidation_headers`],
//!   [`merge_not_modified`]) and `Vary` ([`CachedResponse::vary_matches`]).
//! - Upstream retries ([`send_with_retries`], [`RetryPolicy`]), each attempt through an
//!   [`AcquireHook`] (the rate limiter).
//!
//! An adapter is a few lines: [`HttpPipeline::prepare`] the request (or pass it
//! through), [`HttpPipeline::execute`] it with the client's call, and turn the
//! [`Outcome`] into the client's response or error type.

#![warn(missing_docs)]

mod cache_control;
mod cached;
mod entry;
mod error;
mod execute;
mod freshness;
mod hook;
mod http_pipeline;
mod key;
mod not_modified;
mod refresh;
mod retry;
mod retry_after;
mod revalidate;
mod served;
#[cfg(test)]
mod test_support;
mod upstream;
mod vary;

pub use cached::{CachedResponse, MAX_VALIDATOR_BYTES};
pub use entry::{HttpEntryPolicy, MAX_HTTP_LIFETIME, REVALIDATION_KEEP};
pub use error::Error;
pub use freshness::{EntryTimes, Freshness, FreshnessRules, NotStored, freshness};
pub use hook::{AcquireFuture, AcquireHook, adaptive_rate_limit_hook, rate_limit_hook};
pub use http_pipeline::{HttpPipeline, Prepared};
pub use key::{DEFAULT_CREDENTIAL_PARAMS, default_resource};
pub use retry::{Limited, Retried, RetryPolicy, send_with_retries};
pub use revalidate::{NotModified, merge_not_modified, revalidation_headers};
pub use served::{ResponseExt, SERVED_BY_HEADER, Served, served_by_name};
pub use upstream::{BoxError, Outcome, UpstreamResponse};

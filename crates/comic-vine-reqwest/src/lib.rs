//! A [`reqwest_middleware`] layer (reqwest 0.13, reqwest-middleware 0.5) that puts the
//! `comic-vine-store` request pipeline under any reqwest client: GET requests get the
//! shared cache, request deduplication and the rate limit (with a fleet-wide cooldown
//! on 429/420) of whatever stores the
//! [`Pipeline`](comic_vine_store::pipeline::Pipeline) has, in memory or on DynamoDB.
//! The HTTP rules are [`HttpPipeline`]'s, shared with `comic-vine-tower`; see
//! [`StoreMiddleware`] for what this adapter adds.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use comic_vine_reqwest::{CachedResponse, ResponseExt, StoreMiddleware};
//! use comic_vine_store::memory::{MemoryCacheStore, MemoryDedupeStore, MemoryRateLimitStore};
//! use comic_vine_store::pipeline::{Pipeline, ServedBy};
//! use comic_vine_store::{Priority, RateLimitConfig};
//! # let stub = comic_vine_stub::StubApi::start(Default::default()).await?;
//! # let api = stub.url();
//!
//! let pipeline = Pipeline::<CachedResponse>::builder()
//!     .cache(Arc::new(MemoryCacheStore::new()))
//!     .dedupe(Arc::new(MemoryDedupeStore::new()))
//!     .rate_limit(Arc::new(MemoryRateLimitStore::new(RateLimitConfig::comic_vine())))
//!     .build();
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(StoreMiddleware::new(Arc::new(pipeline)))
//!     .build();
//!
//! // `api` is e.g. "https://comicvine.gamespot.com/api".
//! let first = client.get(format!("{api}/issues/?api_key=A&format=json&limit=10"))
//!     .with_extension(Priority::User)
//!     .send().await?;
//! // Another key, another parameter order: the same request, from the cache.
//! let second = client.get(format!("{api}/issues/?limit=10&format=json&api_key=B"))
//!     .send().await?;
//! assert_eq!(first.served_by(), Some(ServedBy::Upstream));
//! assert_eq!(second.served_by(), Some(ServedBy::Cache));
//! assert_eq!(second.headers()["x-served-by"], "cache");
//! assert_eq!(first.text().await?, second.text().await?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! The crate builds no TLS of its own: the reqwest client you give it decides. The
//! `comic_vine` example and the tests use reqwest's `rustls` feature (rustls on the
//! aws-lc-rs provider, which the AWS SDK builds too).

#![warn(missing_docs)]

mod middleware;

pub use comic_vine_http::{
    CachedResponse, DEFAULT_CREDENTIAL_PARAMS, Error, HttpPipeline, SERVED_BY_HEADER, Served,
    default_resource,
};
pub use middleware::{ResponseExt, StoreMiddleware};

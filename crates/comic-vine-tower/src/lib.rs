//! A [`tower`](https://docs.rs/tower) layer that puts the `comic-vine-store` request
//! pipeline under any tower HTTP client (a `Service<http::Request<B>>` answering
//! `http::Response<_>`, e.g. hyper-util's legacy `Client`): GET requests get the shared
//! cache, request deduplication and the rate limit (with a fleet-wide cooldown on
//! 429/420) of whatever stores the [`Pipeline`](comic_vine_store::pipeline::Pipeline)
//! has, in memory or on DynamoDB. The HTTP rules are [`HttpPipeline`]'s, the same as
//! `comic-vine-reqwest`'s: both adapters compute the same keys and share cache entries.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use comic_vine_store::memory::{MemoryCacheStore, MemoryDedupeStore, MemoryRateLimitStore};
//! use comic_vine_store::pipeline::{Pipeline, ServedBy};
//! use comic_vine_store::{Priority, RateLimitConfig};
//! use comic_vine_tower::{CachedResponse, ResponseExt, StoreLayer};
//! use http_body_util::{BodyExt, Empty};
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use tower::{Layer, ServiceExt};
//! # let stub = comic_vine_stub::StubApi::start(Default::default()).await?;
//! # let api = stub.url();
//!
//! let pipeline = Pipeline::<CachedResponse>::builder()
//!     .cache(Arc::new(MemoryCacheStore::new()))
//!     .dedupe(Arc::new(MemoryDedupeStore::new()))
//!     .rate_limit(Arc::new(MemoryRateLimitStore::new(RateLimitConfig::comic_vine())))
//!     .build();
//! let hyper = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
//! let client = StoreLayer::new(Arc::new(pipeline)).layer(hyper);
//!
//! // `api` is e.g. "http://127.0.0.1:PORT/api".
//! let get = |uri: String| {
//!     let mut request = http::Request::get(uri).body(Empty::new()).unwrap();
//!     request.extensions_mut().insert(Priority::User); // default: Background
//!     client.clone().oneshot(request)
//! };
//! let first = get(format!("{api}/issues/?api_key=A&format=json&limit=10")).await?;
//! // Another key, another parameter order: the same request, from the cache.
//! let second = get(format!("{api}/issues/?limit=10&format=json&api_key=B")).await?;
//! assert_eq!(first.served_by(), Some(ServedBy::Upstream));
//! assert_eq!(second.served_by(), Some(ServedBy::Cache));
//! assert_eq!(second.headers()["x-served-by"], "cache");
//! let (first, second) = (first.into_body().collect().await?, second.into_body().collect().await?);
//! assert_eq!(first.to_bytes(), second.to_bytes());
//! # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! # }).unwrap();
//! ```

#![warn(missing_docs)]

mod service;

pub use comic_vine_http::{
    CachedResponse, DEFAULT_CREDENTIAL_PARAMS, Error, HttpPipeline, ResponseExt, SERVED_BY_HEADER,
    Served, default_resource,
};
pub use service::{StoreBody, StoreLayer, StoreService};

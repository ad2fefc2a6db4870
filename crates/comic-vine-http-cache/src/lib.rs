//! An [http-cache](https://docs.rs/http-cache) [`CacheManager`](http_cache::CacheManager)
//! backed by the comic-vine-store [`CacheStore`](comic_vine_store::CacheStore): users of
//! `http-cache-reqwest` get a cache shared by a whole fleet (DynamoDB), one host
//! (SQLite) or one process (memory) without changing their client.
//!
//! ```
//! use std::sync::Arc;
//! use comic_vine_http_cache::{HttpCacheEntry, StoreCacheManager};
//! use comic_vine_store::memory::MemoryCacheStore;
//! use http_cache_reqwest::{Cache, CacheMode, HttpCache, HttpCacheOptions};
//!
//! let store = Arc::new(MemoryCacheStore::<HttpCacheEntry>::new()); // or DynamoDB, SQLite
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(Cache(HttpCache {
//!         mode: CacheMode::Default,
//!         manager: StoreCacheManager::new(store),
//!         options: HttpCacheOptions::default(),
//!     }))
//!     .build();
//! # drop(client);
//! ```
//!
//! Each response is stored as one [`HttpCacheEntry`]: the body as base64 (exact bytes),
//! the headers, and the `CachePolicy` serialized with http-cache-semantics' serde
//! support. Responses over 400 KB are chunked by the DynamoDB store like any value.
//!
//! This crate follows http-cache's 1.0 line (on reqwest 0.13 / reqwest-middleware 0.5)
//! and so needs Rust 1.89, like http-cache itself; the other crates of this workspace
//! keep their own, lower MSRV.

#![warn(missing_docs)]

pub mod entry;
pub mod error;
pub mod manager;

pub use entry::{ENTRY_FORMAT, HttpCacheEntry};
pub use error::HttpCacheStoreError;
pub use manager::{DEFAULT_KEY_PREFIX, DEFAULT_STALE_RETENTION, StoreCacheManager};

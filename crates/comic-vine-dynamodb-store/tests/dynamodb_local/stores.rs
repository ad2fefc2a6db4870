//! One process's DynamoDB stores on a table, as the pipeline tests build them: the dedupe
//! store built with the cache (a complete-and-cache writes the value once, into the
//! entry), and the limiter.

use comic_vine_dynamodb_store::StoreControls;
use std::sync::Arc;

use comic_vine_dynamodb_store::{
    DynamoDbCacheStore, DynamoDbDedupeStore, DynamoDbRateLimitStore, Table,
};
use comic_vine_store::DedupeConfig;
use comic_vine_store::RateLimitConfig;
use comic_vine_store::pipeline::{Pipeline, PipelineBuilder};
use serde_json::Value;

pub use comic_vine_testkit::dynamodb::cache_and_dedupe;

/// The three stores of one process.
pub struct Stores {
    /// The cache.
    pub cache: Arc<DynamoDbCacheStore<Value>>,
    /// The dedupe store, built with `cache`.
    pub dedupe: DynamoDbDedupeStore<Value>,
    /// The limiter.
    pub limiter: DynamoDbRateLimitStore,
}

impl Stores {
    /// One process's stores on `table`, the limiter with `limits`.
    pub fn on(table: &Table, limits: RateLimitConfig) -> Self {
        let (cache, dedupe) = cache_and_dedupe(table, DedupeConfig::default());
        let limiter = DynamoDbRateLimitStore::builder(table)
            .limits(limits)
            .build()
            .unwrap();
        Self {
            cache,
            dedupe,
            limiter,
        }
    }

    /// A pipeline builder over the three stores (the caller adds the rest).
    pub fn pipeline_builder(&self) -> PipelineBuilder<Value> {
        Pipeline::builder()
            .cache(self.cache.clone())
            .dedupe(Arc::new(self.dedupe.clone()))
            .rate_limit(Arc::new(self.limiter.clone()))
    }

    /// DynamoDB requests and write units sent so far by the three stores.
    pub fn sent(&self) -> (u64, f64) {
        let (c, d, l) = (
            self.cache.metrics(),
            self.dedupe.metrics(),
            self.limiter.metrics(),
        );
        (
            c.requests + d.requests + l.requests,
            c.write_units + d.write_units + l.write_units,
        )
    }

    /// DynamoDB requests sent so far by the three stores.
    pub fn requests(&self) -> u64 {
        self.sent().0
    }
}

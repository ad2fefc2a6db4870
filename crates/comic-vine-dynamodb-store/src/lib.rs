//! DynamoDB single-table backend for the `comic-vine-store` traits.
//!
//! - [`DynamoDbConfig`] (options and their defaults) → [`Table`] (a connected table) →
//!   the stores: [`DynamoDbCacheStore`], [`DynamoDbDedupeStore`],
//!   [`DynamoDbRateLimitStore`], [`DynamoDbAdaptiveRateLimitStore`].
//! - [`table`]: the single-table schema as code ([`table_definition`]), creating a table
//!   ([`create_table`]) and checking an existing one ([`verify_table`]).
//! - [`keys`]: every key the stores write.
//! - [`utilities`]: [`BatchWriter`], [`execute_in_parallel`], [`AdaptiveDelayCalculator`].
//! - `local` (cargo feature `local`): a DynamoDB Local server and fresh tables for tests.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use comic_vine_dynamodb_store::{
//!     DynamoDbCacheStore, DynamoDbConfig, DynamoDbDedupeStore, DynamoDbRateLimitStore,
//! };
//! use comic_vine_store::RateLimitConfig;
//!
//! async fn stores() -> Result<(), comic_vine_store::StoreError> {
//!     let table = DynamoDbConfig::builder()      // the connection: name, region, timeout, breaker
//!         .table_name("comic-vine-store")        // created with `cvstore table create`
//!         .region("us-east-1")
//!         .build()?                              // every option validated here
//!         .connect()
//!         .await?;
//!     // Each store has its own settings, on its own builder.
//!     let cache: Arc<DynamoDbCacheStore> = Arc::new(DynamoDbCacheStore::new(&table));
//!     let dedupe: DynamoDbDedupeStore = DynamoDbDedupeStore::builder(&table)
//!         .cache(Arc::clone(&cache)) // complete_and_cache into it: the value written once
//!         .build()?;
//!     let limiter = DynamoDbRateLimitStore::builder(&table)
//!         .limits(RateLimitConfig::comic_vine()) // 200 per resource per hour
//!         .build()?;
//!     # let _ = (cache, dedupe, limiter);
//!     Ok(())
//! }
//! ```

#![warn(missing_docs)]

/// The AWS SDK for DynamoDB this crate is built on (for its types and client).
pub use aws_sdk_dynamodb;

mod adaptive;
mod attributes;
mod cache;
mod cas;
mod chunks;
mod codec;
mod config;
mod dedupe;
mod handle;
mod item;
pub mod keys;
#[cfg(feature = "local")]
pub mod local;
mod metrics;
mod packing;
mod rate_limit;
mod request;
mod resilience;
mod sdk_error;
mod state_cell;
pub mod table;
pub mod utilities;

// The stores' own batch writes and backoff (`crate::batch::…`).
use utilities::batch;

pub use adaptive::{DynamoDbAdaptiveRateLimitStore, DynamoDbAdaptiveRateLimitStoreBuilder};
pub use cache::{DEFAULT_INLINE_LIMIT, DynamoDbCacheStore, DynamoDbCacheStoreBuilder};
pub use config::{CircuitBreakerConfig, DynamoDbConfig, DynamoDbConfigBuilder};
pub use dedupe::{DynamoDbDedupeStore, DynamoDbDedupeStoreBuilder};
pub use handle::{OnTable, Table};
pub use metrics::MetricsSnapshot;
pub use rate_limit::{DynamoDbRateLimitStore, DynamoDbRateLimitStoreBuilder};
pub use resilience::{CircuitState, CircuitStatus, StoreControls};
pub use table::{
    DEFAULT_TABLE_NAME, GSI1, GSI1PK, GSI1SK, PK, SK, TTL, TableDefinition, TableDifference,
    create_table, table_definition, validate_table_name, verify_table,
};
pub use utilities::{
    AdaptiveDelayCalculator, BatchWrite, BatchWriter, BatchWriterConfig, DynamoDbBatchWrite,
    FailedBatch, FlushReport, WriteOp, execute_in_parallel,
};

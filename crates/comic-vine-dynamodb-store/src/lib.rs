//! DynamoDB single-table backend for the `comic-vine-store` traits.
//!
//! - [`DynamoDbConfig`] (options and their defaults) → [`Table`] (a connected table) →
//!   the stores: [`DynamoDbCacheStore`], …
//! - [`table`]: the single-table schema as code ([`table_definition`]), creating a table
//!   ([`create_table`]) and checking an existing one ([`verify_table`]).
//! - [`keys`]: every key the stores write.
//! - `local` (cargo feature `local`): a DynamoDB Local server and fresh tables for tests.

#![warn(missing_docs)]

/// The AWS SDK for DynamoDB this crate is built on (for its types and client).
pub use aws_sdk_dynamodb;

mod adaptive;
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
mod resilience;
mod sdk_error;
pub mod table;

pub use adaptive::DynamoDbAdaptiveRateLimitStore;
pub use cache::DynamoDbCacheStore;
pub use config::{CircuitBreakerConfig, DynamoDbConfig, DynamoDbConfigBuilder};
pub use dedupe::DynamoDbDedupeStore;
pub use handle::Table;
pub use metrics::MetricsSnapshot;
pub use rate_limit::DynamoDbRateLimitStore;
pub use table::{
    DEFAULT_TABLE_NAME, GSI1, GSI1PK, GSI1SK, PK, SK, TTL, TableDefinition, TableDifference,
    create_table, table_definition, validate_table_name, verify_table,
};

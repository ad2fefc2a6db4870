//! The retry quota of the clients this crate builds.
//!
//! The SDK's standard retry strategy spends tokens from a bucket per retry (5, or 10
//! after a timeout) and gives them back only when a retried request then succeeds;
//! a request that ends with a definite refusal — a `ConditionalCheckFailed` after a
//! retried fault, which lost compare-and-swap races and lost answers make common —
//! gives nothing back, and the SDK forgets a held permit when a concurrent request on
//! the same client takes a new one. By default that bucket is shared by every client
//! of the process in one region, so under contention plus faults it runs dry and later
//! faults are not retried at all.
//!
//! Each [`Table`](crate::Table) connected by [`DynamoDbConfig::connect`](crate::DynamoDbConfig::connect)
//! gets a retry partition of its own whose bucket charges nothing: how much a store
//! retries is bounded by `max_retries` per request, the per-operation timeout, and the
//! circuit breaker, which stops all traffic of a store after consecutive failures.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::config::retry::RetryPartition;
use aws_smithy_runtime::client::retries::TokenBucket;

/// A new retry partition, not shared with any other client, for a client of `table`.
pub(crate) fn retry_partition(table: &str) -> RetryPartition {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    RetryPartition::custom(format!("comic-vine-store/{table}/{n}"))
        .token_bucket(TokenBucket::unlimited())
        .build()
}

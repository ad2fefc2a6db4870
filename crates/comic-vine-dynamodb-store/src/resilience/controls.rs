//! [`StoreControls`]: the controls every store exposes over its [`Gate`], written once
//! as the default methods of one public trait.

use std::future::Future;

use comic_vine_store::{HealthStatus, StoreResult};

use super::Gate;
use crate::metrics::MetricsSnapshot;
use crate::resilience::CircuitStatus;

/// The controls of every DynamoDB store (cache, dedupe, rate limit, adaptive):
/// `health_check`, `metrics`, `circuit_status`, `reset_circuit` and `close`, over the
/// store's gate (its breaker, timeout, closed flag and counters).
///
/// Bring it into scope to call them: `use comic_vine_dynamodb_store::StoreControls;`.
/// On [`DynamoDbCacheStore`](crate::DynamoDbCacheStore), `health_check` is also
/// [`CacheStore::health_check`](comic_vine_store::CacheStore::health_check) (the same
/// probe): with both traits in scope, name the one you mean
/// (`StoreControls::health_check(&cache)`).
///
/// The trait is sealed: only this crate's stores implement it.
pub trait StoreControls: Gated + Sync {
    /// Whether the table answers, and how fast (a probe read through this store's
    /// breaker and timeout). A failed probe is reported as unhealthy, with the error in
    /// `detail`; this never returns `Err` (the signature matches
    /// [`CacheStore::health_check`](comic_vine_store::CacheStore::health_check)).
    fn health_check(&self) -> impl Future<Output = StoreResult<HealthStatus>> + Send {
        async move { Ok(self.gate().health_check().await) }
    }

    /// Counters of this store's DynamoDB traffic.
    fn metrics(&self) -> MetricsSnapshot {
        self.gate().snapshot()
    }

    /// The circuit breaker's state (see [`CircuitStatus`]).
    fn circuit_status(&self) -> CircuitStatus {
        self.gate().circuit_status()
    }

    /// Closes the circuit breaker and forgets its failures.
    fn reset_circuit(&self) {
        self.gate().reset_circuit();
    }

    /// Refuses every later operation with
    /// [`StoreError::Closed`](comic_vine_store::StoreError::Closed).
    fn close(&self) {
        self.gate().close();
    }
}

/// How a store reaches its gate: the one required method behind [`StoreControls`]
/// (public in a private module, so no other crate can implement it).
pub trait Gated {
    /// The store's gate.
    fn gate(&self) -> &Gate;
}

impl<T: Gated + Sync> StoreControls for T {}

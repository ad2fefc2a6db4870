//! [`gate_controls!`]: the controls every store exposes over its [`Gate`](super::Gate),
//! written once.

/// Writes a store's controls over its gate: `health_check`, `metrics`,
/// `circuit_status`, `reset_circuit` and `close`, as inherent methods (so callers need
/// no trait in scope, and the cache store's `health_check` does not clash with
/// `CacheStore::health_check`).
///
/// `gate_controls!(impl<V> Store<V>, |s| (&s.gate, &s.table));` names the type and how
/// a store reaches its gate and table.
macro_rules! gate_controls {
    (impl $store:ident, |$s:ident| ($gate:expr, $table:expr)) => {
        $crate::resilience::gate_controls!(impl<> $store, |$s| ($gate, $table));
    };
    (impl<$($g:ident),*> $store:ty, |$s:ident| ($gate:expr, $table:expr)) => {
        impl<$($g),*> $store {
            /// Whether the table answers, and how fast (a probe read through this
            /// store's breaker and timeout). A failed probe is reported as unhealthy,
            /// with the error in `detail`; this never returns `Err` (the signature
            /// matches [`CacheStore::health_check`](comic_vine_store::CacheStore::health_check)).
            pub async fn health_check(
                &self,
            ) -> comic_vine_store::StoreResult<comic_vine_store::HealthStatus> {
                let $s = self;
                Ok($gate.health_check($table).await)
            }

            /// Counters of this store's DynamoDB traffic.
            pub fn metrics(&self) -> $crate::MetricsSnapshot {
                let $s = self;
                $gate.snapshot()
            }

            /// The circuit breaker's state (see [`CircuitStatus`]($crate::CircuitStatus)).
            pub fn circuit_status(&self) -> $crate::CircuitStatus {
                let $s = self;
                $gate.circuit_status()
            }

            /// Closes the circuit breaker and forgets its failures.
            pub fn reset_circuit(&self) {
                let $s = self;
                $gate.reset_circuit();
            }

            /// Refuses every later operation with
            /// [`StoreError::Closed`](comic_vine_store::StoreError::Closed).
            pub fn close(&self) {
                let $s = self;
                $gate.close();
            }
        }
    };
}

pub(crate) use gate_controls;

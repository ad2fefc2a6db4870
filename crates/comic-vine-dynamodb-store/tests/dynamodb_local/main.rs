//! Tests against a real DynamoDB Local (started by the `local` harness, or the one
//! `DYNAMODB_ENDPOINT` names).

mod backend;
mod batch_writer;
mod billing;
mod breaker;
mod cache_values;
mod conformance;
mod create;
mod dedupe;
mod dedupe_processes;
mod fault_proxy;
mod faults;
mod gate;
mod near_cache;
mod older_layout;
mod pipeline;
mod publish;
mod purge;
mod rate_limit;
mod rate_limit_processes;
mod reaped;
mod roundtrip;
mod stale;
mod stores;
mod verify;

use comic_vine_dynamodb_store::local::DynamoDbLocal;
use serde_json::{Value, json};

/// The server shared by this test binary.
fn local() -> &'static DynamoDbLocal {
    DynamoDbLocal::shared().expect("DynamoDB Local should start (see scripts/dynamodb-local.sh)")
}

/// A Comic Vine-shaped value of about `kb` KB: compressible (repeated text) or not
/// (random letters).
fn value_of(kb: usize, compressible: bool) -> Value {
    let mut rng = fastrand::Rng::with_seed(kb as u64);
    let deck = |rng: &mut fastrand::Rng| -> String {
        if compressible {
            "Batman #1 (1940), the first issue. ".repeat(29)
        } else {
            (0..1000).map(|_| rng.alphanumeric()).collect()
        }
    };
    let results: Vec<Value> = (0..kb)
        .map(|i| json!({"id": i, "deck": deck(&mut rng)}))
        .collect();
    json!({ "results": results })
}

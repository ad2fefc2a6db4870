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

/// The server shared by this test binary.
fn local() -> &'static DynamoDbLocal {
    DynamoDbLocal::shared().expect("DynamoDB Local should start (see scripts/dynamodb-local.sh)")
}

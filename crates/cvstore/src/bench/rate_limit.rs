//! `try_acquire` (granted, also at a limit of 10,000 per window, and denied) against the
//! raw conditional UpdateItem one decision needs, each on one resource (one item), as a
//! fleet shares one limit.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use comic_vine_dynamodb_store::{DynamoDbRateLimitStore, PK, SK, Table};
use comic_vine_store::{RateLimit, RateLimitConfig, RateLimitStore};

use super::meter::{Cost, Meter};
use super::{Workload, cost_of, op};

/// A limit that is never reached at DynamoDB Local's speed (200 per 2 ms), so every
/// decision is a grant with a realistic window state behind it.
fn open_limit() -> anyhow::Result<RateLimit> {
    Ok(RateLimit::new(200, Duration::from_millis(2))?)
}

/// The large-limit row's resource: 10,000 per window, a window short enough (250 ms)
/// that the bench fills whole windows and is never refused at DynamoDB Local's speed.
/// The state is the bounded bucketed window, chosen by the limit, so a grant stays one
/// item under 1 KB.
const LARGE: &str = "bench-granted-10000";

pub(crate) async fn workloads(table: &Table) -> anyhow::Result<Vec<Workload>> {
    let limits = RateLimitConfig::new(open_limit()?)
        .with_resource(
            "bench-denied",
            RateLimit::new(1, Duration::from_secs(3600))?,
        )?
        .with_resource(LARGE, RateLimit::new(10_000, Duration::from_millis(250))?)?;
    let store = Arc::new(
        DynamoDbRateLimitStore::builder(table)
            .limits(limits)
            .build()?,
    );
    store.reset("bench-granted").await?;
    store.reset("bench-denied").await?;
    store.reset(LARGE).await?;
    anyhow::ensure!(
        store.try_acquire("bench-denied").await?.granted,
        "first grant"
    );
    let meter = Arc::new(Meter::default());

    let raw_cost = {
        let meter = Arc::clone(&meter);
        cost_of(move || meter.total())
    };
    let store_cost = {
        let store = Arc::clone(&store);
        cost_of(move || Cost::from(&store.metrics()))
    };
    let raw_update = {
        let (table, meter) = (table.clone(), Arc::clone(&meter));
        op(move |_n: u64| {
            let (table, meter) = (table.clone(), Arc::clone(&meter));
            async move {
                let out = table
                    .client()
                    .update_item()
                    .table_name(table.name())
                    .key(PK, AttributeValue::S("RATELIMIT#bench-raw".into()))
                    .key(SK, AttributeValue::S("STATE".into()))
                    .update_expression("SET #n = if_not_exists(#n, :zero) + :one")
                    .condition_expression("attribute_not_exists(#n) OR #n < :max")
                    .expression_attribute_names("#n", "N")
                    .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .expression_attribute_values(":max", AttributeValue::N(u64::MAX.to_string()))
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await?;
                meter.write(out.consumed_capacity());
                Ok(())
            }
        })
    };
    let acquire = |resource: &'static str, expect: bool| {
        let store = Arc::clone(&store);
        op(move |_n: u64| {
            let store = Arc::clone(&store);
            async move {
                let granted = store.try_acquire(resource).await?.granted;
                anyhow::ensure!(
                    granted == expect,
                    "try_acquire({resource}): expected granted={expect}"
                );
                Ok(())
            }
        })
    };
    Ok(vec![
        Workload::new("raw conditional UpdateItem", None, raw_update, raw_cost),
        Workload::new(
            "try_acquire (granted)",
            Some("raw conditional UpdateItem"),
            acquire("bench-granted", true),
            Arc::clone(&store_cost),
        )
        .batched(),
        Workload::new(
            "try_acquire (granted, limit 10,000)",
            Some("raw conditional UpdateItem"),
            acquire(LARGE, true),
            Arc::clone(&store_cost),
        )
        .batched(),
        Workload::new(
            "try_acquire (denied)",
            Some("raw conditional UpdateItem"),
            acquire("bench-denied", false),
            store_cost,
        )
        .batched(),
    ])
}

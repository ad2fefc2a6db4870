//! `cvstore health`: the cache store's health check.

use anyhow::bail;
use comic_vine_dynamodb_store::DynamoDbCacheStore;
use serde_json::{Value, json};

use super::connect;
use super::output;
use crate::cli::StoreArgs;

/// Checks that the table answers; fails when it does not.
pub async fn run(store: &StoreArgs, json: bool) -> anyhow::Result<()> {
    let table = connect::table(store).await?;
    let cache = DynamoDbCacheStore::<Value>::new(&table);
    let status = cache.health_check().await?;
    // Microsecond precision is plenty.
    let latency_ms = (status.latency.as_secs_f64() * 1e6).round() / 1e3;
    if json {
        output::json(&json!({
            "table": table.name(),
            "endpoint": table.config().endpoint(),
            "healthy": status.healthy,
            "latency_ms": latency_ms,
            "detail": status.detail,
            "metrics": cache.metrics(),
        }))?;
    } else if status.healthy {
        output::line(format_args!(
            "healthy: {} in {latency_ms:.0} ms",
            status.detail
        ))?;
    }
    if !status.healthy {
        bail!("unhealthy: {}", status.detail);
    }
    Ok(())
}

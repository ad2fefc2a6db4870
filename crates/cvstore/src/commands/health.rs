//! `cvstore health`: the cache store's health check.

use anyhow::bail;
use comic_vine_store::StoreError;
use serde_json::{Value, json};

use super::backend::Backend;
use super::output;
use crate::cli::StoreArgs;

/// Checks that the table (or the SQLite file) answers; fails when it does not.
pub async fn run(store: &StoreArgs, json: bool) -> anyhow::Result<()> {
    let backend = Backend::open(store, None).await?;
    let cache = backend.cache::<Value>();
    let status = cache.health_check().await?;
    // Microsecond precision is plenty.
    let latency_ms = (status.latency.as_secs_f64() * 1e6).round() / 1e3;
    if json {
        let mut body = json!({
            "healthy": status.healthy,
            "latency_ms": latency_ms,
            "detail": status.detail,
        });
        if let Backend::DynamoDb { table, .. } = &backend {
            body["endpoint"] = json!(table.config().endpoint());
        }
        output::json(&backend.report(body, cache.metrics()))?;
    } else if status.healthy {
        output::line(format_args!(
            "healthy: {} in {latency_ms:.0} ms",
            status.detail
        ))?;
    }
    if !status.healthy {
        // A missing table is reported as the typed error, so the failure line says how
        // to create it.
        let missing = cache
            .metrics()
            .is_some_and(|m| m.errors.contains_key("table_not_found"));
        if let (true, Some(table)) = (missing, backend.table_name()) {
            let err = StoreError::TableNotFound {
                table: table.to_owned(),
            };
            return Err(anyhow::Error::new(err).context("unhealthy"));
        }
        bail!("unhealthy: {}", status.detail);
    }
    Ok(())
}

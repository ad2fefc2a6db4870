//! `cvstore cache`: read and manage the response cache on the DynamoDB table.

use std::io::Read;
use std::time::Duration;

use anyhow::Context;
use comic_vine_dynamodb_store::DynamoDbCacheStore;
use comic_vine_store::{CacheStore, validate};
use serde_json::{Value, json};

use super::{Outcome, connect, output};
use crate::cli::{CacheCommand, StoreArgs};

/// The `VALUE_JSON` that means "read the value from standard input".
const FROM_STDIN: &str = "-";

/// The cache store on the table the global flags name, and how to report.
struct Cache {
    store: DynamoDbCacheStore<Value>,
    table: String,
    json: bool,
}

/// Runs one `cvstore cache` command.
pub async fn run(command: CacheCommand, store: &StoreArgs, json: bool) -> anyhow::Result<Outcome> {
    if let CacheCommand::Get { key }
    | CacheCommand::Set { key, .. }
    | CacheCommand::Delete { key } = &command
    {
        validate::key("KEY", key)?;
    }
    let table = connect::table(store).await?;
    let cache = Cache {
        store: DynamoDbCacheStore::new(&table),
        table: table.name().to_owned(),
        json,
    };
    match command {
        CacheCommand::Get { key } => return cache.get(key).await,
        CacheCommand::Set {
            key,
            value_json,
            ttl,
        } => {
            let ttl = ttl.unwrap_or(table.config().cache().default_ttl);
            cache.set(key, &value_json, ttl).await?;
        }
        CacheCommand::Delete { key } => cache.delete(key).await?,
        CacheCommand::Clear => {
            let removed = cache.store.clear().await?;
            cache.report_removed(removed, "")?;
        }
        CacheCommand::Cleanup => {
            let removed = cache.store.cleanup().await?;
            cache.report_removed(removed, "expired ")?;
        }
        CacheCommand::Stats => cache.stats().await?,
    }
    Ok(Outcome::Done)
}

impl Cache {
    /// Prints the live value under `key` (compact JSON), or reports a miss.
    async fn get(&self, key: String) -> anyhow::Result<Outcome> {
        let found = self.store.get(&key).await?;
        let outcome = if found.is_some() {
            Outcome::Done
        } else {
            Outcome::NotFound
        };
        if self.json {
            let mut report = json!({
                "table": self.table,
                "key": key,
                "found": found.is_some(),
                "metrics": self.store.metrics(),
            });
            if let Some(value) = found {
                report["value"] = value;
            }
            output::json(&report)?;
        } else if let Some(value) = &found {
            output::json(value)?;
        }
        Ok(outcome)
    }

    /// Stores the value `value_json` gives under `key` for `ttl`.
    async fn set(&self, key: String, value_json: &str, ttl: Duration) -> anyhow::Result<()> {
        let value = read_value(value_json).await?;
        self.store.set(&key, &value, Some(ttl)).await?;
        let bytes = serde_json::to_vec(&value)?.len();
        if self.json {
            output::json(&json!({
                "table": self.table,
                "key": key,
                "bytes": bytes,
                "ttl_ms": u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
                "metrics": self.store.metrics(),
            }))
        } else {
            output::line(format_args!(
                "stored `{key}` ({bytes} bytes of JSON, expires in {ttl:?})"
            ))
        }
    }

    /// Removes the entry under `key`, if any.
    async fn delete(&self, key: String) -> anyhow::Result<()> {
        self.store.delete(&key).await?;
        if self.json {
            output::json(&json!({
                "table": self.table,
                "key": key,
                "metrics": self.store.metrics(),
            }))
        } else {
            output::line(format_args!("deleted `{key}` (if it was there)"))
        }
    }

    /// Prints the entry counts and stored size.
    async fn stats(&self) -> anyhow::Result<()> {
        let stats = self.store.stats().await?;
        if self.json {
            output::json(&json!({
                "table": self.table,
                "entries": stats.entries,
                "expired_entries": stats.expired_entries,
                "approximate_bytes": stats.approximate_bytes,
                "metrics": self.store.metrics(),
            }))
        } else {
            output::line(format_args!(
                "table {}: {} entries ({} expired), about {} bytes stored",
                self.table, stats.entries, stats.expired_entries, stats.approximate_bytes
            ))
        }
    }

    /// Reports how many (`adjective`) entries `clear` or `cleanup` removed.
    fn report_removed(&self, removed: u64, adjective: &str) -> anyhow::Result<()> {
        if self.json {
            return output::json(&json!({
                "table": self.table,
                "removed": removed,
                "metrics": self.store.metrics(),
            }));
        }
        let entries = if removed == 1 { "entry" } else { "entries" };
        output::line(format_args!(
            "removed {removed} {adjective}{entries} from table {}",
            self.table
        ))
    }
}

/// The value `VALUE_JSON` gives: the argument itself, or standard input for `-`.
async fn read_value(value_json: &str) -> anyhow::Result<Value> {
    if value_json != FROM_STDIN {
        return serde_json::from_str(value_json).context("VALUE_JSON is not valid JSON");
    }
    let bytes = tokio::task::spawn_blocking(|| {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map(|_| bytes)
    })
    .await
    .context("reading standard input stopped")?
    .context("cannot read the value from standard input")?;
    serde_json::from_slice(&bytes).context("the value on standard input is not valid JSON")
}

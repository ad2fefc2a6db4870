//! `cvstore cache`: read and manage the response cache (on DynamoDB or SQLite).

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use comic_vine_dynamodb_store::MetricsSnapshot;
use comic_vine_store::{CacheStore, MAX_VALUE_BYTES};
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::backend::{Backend, Metered};
use super::{Outcome, output};
use crate::cli::{CacheCommand, StoreArgs, mib};
use crate::failure::UsageError;

/// The `VALUE_JSON` that means "read the value from standard input".
const FROM_STDIN: &str = "-";

/// A cache value: the JSON text exactly as given (numbers keep every digit).
type Json = Box<RawValue>;

/// The cache store on the backend the global flags choose, and how to report.
struct Cache {
    store: Metered<dyn CacheStore<Json>>,
    backend: Backend,
    json: bool,
}

/// Runs one `cvstore cache` command.
pub async fn run(command: CacheCommand, store: &StoreArgs, json: bool) -> anyhow::Result<Outcome> {
    // Checked before connecting: a refused value sends nothing and changes nothing.
    let value = match &command {
        CacheCommand::Set { value_json, .. } => Some(read_value(value_json).await?),
        _ => None,
    };
    let backend = Backend::open(store, None).await?;
    let cache = Cache {
        store: backend.cache(),
        backend,
        json,
    };
    match command {
        CacheCommand::Get { key } => return cache.get(key).await,
        CacheCommand::Set { key, ttl, .. } => {
            let ttl = ttl.unwrap_or(cache.backend.default_ttl());
            let value = value.context("the value was read above")?;
            cache.set(key, &value, ttl).await?;
        }
        CacheCommand::Delete { key } => cache.delete(key).await?,
        CacheCommand::Clear => {
            let removed = cache.store.clear().await?;
            cache.report_removed(removed, "")?;
        }
        CacheCommand::Purge { resource } => cache.purge(&resource).await?,
        CacheCommand::Cleanup => {
            let removed = cache.store.cleanup().await?;
            cache.report_removed(removed, "expired ")?;
        }
        CacheCommand::Stats => cache.stats().await?,
    }
    Ok(Outcome::Done)
}

impl Cache {
    /// Prints the live value under `key` exactly as stored, or reports a miss.
    async fn get(&self, key: String) -> anyhow::Result<Outcome> {
        let found = self.store.get(&key).await?;
        let outcome = if found.is_some() {
            Outcome::Done
        } else {
            Outcome::NotFound
        };
        if self.json {
            /// The `--json` report of `cache get`; `value` is embedded unchanged.
            #[derive(Serialize)]
            struct Report<'a> {
                #[serde(skip_serializing_if = "Option::is_none")]
                table: Option<&'a str>,
                #[serde(skip_serializing_if = "Option::is_none")]
                database: Option<&'a Path>,
                key: &'a str,
                found: bool,
                #[serde(skip_serializing_if = "Option::is_none")]
                value: Option<&'a RawValue>,
                #[serde(skip_serializing_if = "Option::is_none")]
                metrics: Option<MetricsSnapshot>,
            }
            output::json(&Report {
                table: self.backend.table_name(),
                database: self.backend.database(),
                key: &key,
                found: found.is_some(),
                value: found.as_deref(),
                metrics: self.store.metrics(),
            })?;
        } else if let Some(value) = &found {
            output::line(value.get())?;
        }
        Ok(outcome)
    }

    /// Prints `body` with where the store is and its metrics.
    fn report(&self, body: serde_json::Value) -> anyhow::Result<()> {
        output::json(&self.backend.report(body, self.store.metrics()))
    }

    /// Stores `value` under `key` for `ttl`.
    async fn set(&self, key: String, value: &Json, ttl: Duration) -> anyhow::Result<()> {
        self.store.set(&key, value, Some(ttl)).await?;
        let bytes = value.get().len();
        if self.json {
            self.report(json!({
                "key": key,
                "bytes": bytes,
                "ttl_ms": u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
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
            self.report(json!({ "key": key }))
        } else {
            output::line(format_args!("deleted `{key}` (if it was there)"))
        }
    }

    /// Removes the entries of `resource` and reports how many.
    async fn purge(&self, resource: &str) -> anyhow::Result<()> {
        let removed = self.store.purge_resource(resource).await?;
        if self.json {
            return self.report(json!({ "resource": resource, "removed": removed }));
        }
        let entries = if removed == 1 { "entry" } else { "entries" };
        output::line(format_args!(
            "removed {removed} {entries} of resource `{resource}` from {}",
            self.backend.label()
        ))
    }

    /// Prints the entry counts (and those without a resource: written before keys
    /// carried one, or set under such a key), stored size and orphaned chunks (parts of
    /// values whose writer stopped before their entry; `clear` and `cleanup` remove
    /// them).
    async fn stats(&self) -> anyhow::Result<()> {
        let stats = self.store.stats().await?;
        if self.json {
            self.report(json!({
                "entries": stats.entries,
                "expired_entries": stats.expired_entries,
                "approximate_bytes": stats.approximate_bytes,
                "orphan_chunks": stats.orphan_chunks,
                "orphan_bytes": stats.orphan_bytes,
                "unresourced_entries": stats.unresourced_entries,
            }))
        } else {
            output::line(format_args!(
                "{}: {} entries ({} expired; {} without a resource), about {} bytes stored; \
                 {} orphaned chunks ({} bytes)",
                self.backend.label(),
                stats.entries,
                stats.expired_entries,
                stats.unresourced_entries,
                stats.approximate_bytes,
                stats.orphan_chunks,
                stats.orphan_bytes
            ))
        }
    }

    /// Reports how many (`adjective`) entries `clear` or `cleanup` removed.
    fn report_removed(&self, removed: u64, adjective: &str) -> anyhow::Result<()> {
        if self.json {
            return self.report(json!({ "removed": removed }));
        }
        let entries = if removed == 1 { "entry" } else { "entries" };
        output::line(format_args!(
            "removed {removed} {adjective}{entries} from {}",
            self.backend.label()
        ))
    }
}

/// The value `VALUE_JSON` gives: the argument itself, or standard input for `-`;
/// refused (exit status 2) when it is not JSON or over [`MAX_VALUE_BYTES`].
async fn read_value(value_json: &str) -> anyhow::Result<Json> {
    if value_json != FROM_STDIN {
        check_size(value_json.len())?;
        return serde_json::from_str(value_json)
            .map_err(|e| UsageError(format!("VALUE_JSON is not valid JSON ({e})")).into());
    }
    let (bytes, len) = tokio::task::spawn_blocking(read_stdin)
        .await
        .context("reading standard input stopped")?
        .context("cannot read the value from standard input")?;
    check_size(len)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        UsageError(format!(
            "VALUE_JSON (standard input) is not valid JSON ({e})"
        ))
        .into()
    })
}

/// Standard input, up to one byte over [`MAX_VALUE_BYTES`], and its whole length (what
/// is past that is only counted, for the refusal to say how large it was).
fn read_stdin() -> std::io::Result<(Vec<u8>, usize)> {
    let mut stdin = std::io::stdin().lock();
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_VALUE_BYTES).unwrap_or(u64::MAX);
    (&mut stdin).take(limit + 1).read_to_end(&mut bytes)?;
    let mut len = bytes.len();
    if len > MAX_VALUE_BYTES {
        let rest = std::io::copy(&mut stdin, &mut std::io::sink())?;
        len = len.saturating_add(usize::try_from(rest).unwrap_or(usize::MAX));
    }
    Ok((bytes, len))
}

/// Refuses a value of `len` bytes over the limit.
fn check_size(len: usize) -> Result<(), UsageError> {
    if len > MAX_VALUE_BYTES {
        return Err(UsageError(format!(
            "VALUE_JSON is {len} bytes; the limit is {} ({MAX_VALUE_BYTES} bytes)",
            mib(MAX_VALUE_BYTES)
        )));
    }
    Ok(())
}

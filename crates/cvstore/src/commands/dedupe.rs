//! `cvstore dedupe status`.

use comic_vine_dynamodb_store::DynamoDbDedupeStore;
use comic_vine_store::DedupeStore;
use serde_json::{Value, json};

use super::{Outcome, connect, output};
use crate::cli::{DedupeCommand, StoreArgs};

/// Runs a `dedupe` subcommand.
pub async fn run(command: DedupeCommand, store: &StoreArgs, json: bool) -> anyhow::Result<Outcome> {
    let DedupeCommand::Status { hash } = command;
    let table = connect::table(store).await?;
    let dedupe = DynamoDbDedupeStore::<Value>::new(&table);
    let job = dedupe.job(&hash).await?;
    if json {
        output::json(
            &json!({"table": table.name(), "hash": hash, "job": job, "metrics": dedupe.metrics()}),
        )?;
    } else if let Some(job) = &job {
        output::line(format_args!(
            "job {} {:?}: created {}, lease until {}{}{}",
            job.job_id,
            job.state,
            job.created_at,
            job.lease_until,
            job.finished_at
                .map(|f| format!(", finished {f}"))
                .unwrap_or_default(),
            job.error
                .as_ref()
                .map(|e| format!(", error: {e}"))
                .unwrap_or_default(),
        ))?;
    }
    Ok(if job.is_some() {
        Outcome::Done
    } else {
        Outcome::NotFound
    })
}

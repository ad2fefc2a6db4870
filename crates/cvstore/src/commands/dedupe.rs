//! `cvstore dedupe status`.

use serde_json::{Value, json};

use super::backend::Backend;
use super::{Outcome, output};
use crate::cli::{DedupeCommand, StoreArgs};

/// Runs a `dedupe` subcommand.
pub async fn run(command: DedupeCommand, store: &StoreArgs, json: bool) -> anyhow::Result<Outcome> {
    let DedupeCommand::Status { hash } = command;
    let backend = Backend::open(store, None).await?;
    let dedupe = backend.dedupe::<Value>();
    let job = dedupe.job(&hash).await?;
    if json {
        output::json(&backend.report(json!({"hash": hash, "job": job}), dedupe.metrics()))?;
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

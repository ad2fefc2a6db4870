//! The fleet as OS processes on DynamoDB: the parent spawns `cvstore demo-worker`
//! children that share one table and one upstream, and reads one JSON line per request
//! (and a summary at the end) from each.

use std::process::Stdio;

use anyhow::{Context, bail};
use comic_vine_dynamodb_store::{
    DynamoDbAdaptiveRateLimitStore, DynamoDbCacheStore, DynamoDbDedupeStore, MetricsSnapshot,
};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

use super::fleet::{self, Fleet, Outcome, Upstream};
use super::report::Summary;
use crate::cli::{DemoArgs, DemoWorkerArgs, StoreArgs};
use crate::commands::{connect, output};

/// One line a worker prints.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WorkerLine {
    Outcome(Outcome),
    Summary(Summary),
}

/// Runs `args.workers` worker processes against the table `store` names and the
/// upstream at `upstream`; returns every outcome and the summed summary.
pub async fn run_fleet(
    args: &DemoArgs,
    store: &StoreArgs,
    upstream: &str,
    bar: &ProgressBar,
) -> anyhow::Result<(Vec<Outcome>, Summary)> {
    let exe = std::env::current_exe().context("locating the cvstore binary")?;
    let endpoint = store.endpoint.as_deref().context("no endpoint")?;
    let run = format!("{:016x}", fastrand::u64(..));
    let (lines, mut received) = mpsc::unbounded_channel();
    let mut children = Vec::new();
    for w in 0..args.workers {
        let mut command = tokio::process::Command::new(&exe);
        command
            .args([
                "--endpoint",
                endpoint,
                "--table",
                &store.table,
                "demo-worker",
            ])
            .args(["--upstream", upstream, "--run", &run])
            .args([
                "--worker",
                &w.to_string(),
                "--requests",
                &args.requests.to_string(),
            ])
            .args([
                "--seed",
                &args.seed.to_string(),
                "--limit",
                &args.limit.to_string(),
            ])
            .args(["--window", &format!("{}ms", args.window.as_millis())])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(region) = &store.region {
            command.args(["--region", region]);
        }
        let mut child = command.spawn().context("starting a demo worker process")?;
        let stdout = child.stdout.take().context("worker stdout")?;
        let lines = lines.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Ok(parsed) = serde_json::from_str::<WorkerLine>(&line) {
                    let _ = lines.send(parsed);
                }
            }
        });
        children.push(child);
    }
    drop(lines);
    let mut outcomes = Vec::new();
    let mut summary = Summary::default();
    let tally = super::Tally::default();
    while let Some(line) = received.recv().await {
        match line {
            WorkerLine::Outcome(o) => {
                bar.inc(1);
                bar.set_message(tally.add(&o));
                outcomes.push(o);
            }
            WorkerLine::Summary(s) => summary = summary.plus(s),
        }
    }
    for mut child in children {
        let status = child.wait().await?;
        if !status.success() {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = stderr.read_to_string(&mut err).await;
            }
            bail!("a demo worker failed ({status}): {}", err.trim());
        }
    }
    Ok((outcomes, summary))
}

/// `cvstore demo-worker`: one worker process of the DynamoDB demo.
pub async fn worker(args: DemoWorkerArgs, store: &StoreArgs) -> anyhow::Result<()> {
    let (limits, adaptive) = super::limits(args.limit, args.window)?;
    let table = connect::table(store).await?;
    // Built with the cache: a miss completes its job and writes the entry in one
    // transaction.
    let cache = std::sync::Arc::new(DynamoDbCacheStore::<Value>::new(&table));
    let dedupe = DynamoDbDedupeStore::<Value>::builder(&table)
        .cache(std::sync::Arc::clone(&cache))
        .build()?;
    let limiter = DynamoDbAdaptiveRateLimitStore::builder(&table)
        .limits(limits)
        .adaptive(adaptive)
        .build()?;
    let fleet = Fleet::new(
        cache.clone(),
        std::sync::Arc::new(dedupe.clone()),
        std::sync::Arc::new(limiter.clone()),
        Upstream::new(&args.upstream),
    );
    let plan = fleet::plan(args.seed, args.worker, args.requests, &args.run);
    let mut write_error = None;
    fleet
        .run(plan, |o| {
            if let Err(e) = output::json(&WorkerLine::Outcome(o.clone())) {
                write_error.get_or_insert(e);
            }
        })
        .await;
    if let Some(e) = write_error {
        return Err(e);
    }
    let cost = |m: MetricsSnapshot| Summary {
        rate_limit_waits: 0,
        dynamodb_requests: m.requests,
        read_units: m.read_units,
        write_units: m.write_units,
    };
    let summary = cost(cache.metrics())
        .plus(cost(dedupe.metrics()))
        .plus(cost(limiter.metrics()))
        .plus(Summary {
            rate_limit_waits: fleet
                .rate_limit_waits
                .load(std::sync::atomic::Ordering::Relaxed),
            ..Summary::default()
        });
    output::json(&WorkerLine::Summary(summary))
}

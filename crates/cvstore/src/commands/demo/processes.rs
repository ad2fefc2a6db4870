//! The fleet as OS processes on DynamoDB or SQLite: the parent spawns `cvstore
//! demo-worker` children that share one table (or database file) and one upstream, and
//! reads one JSON line per request (and a summary at the end) from each.

use std::process::Stdio;

use anyhow::{Context, bail};
use comic_vine_dynamodb_store::MetricsSnapshot;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

use super::budget;
use super::fleet::{Fleet, Outcome, Upstream};
use super::report::Summary;
use crate::cli::{DemoArgs, DemoWorkerArgs, Phase, StoreArgs};
use crate::commands::backend::Backend;
use crate::commands::output;

/// One line a worker prints.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WorkerLine {
    Outcome(Outcome),
    Summary(Summary),
}

/// The global flags that point a worker at the table `store` names.
pub fn dynamodb_flags(store: &StoreArgs) -> anyhow::Result<Vec<String>> {
    let endpoint = store.endpoint.as_deref().context("no endpoint")?;
    let mut flags = vec![
        "--endpoint".to_owned(),
        endpoint.to_owned(),
        "--table".to_owned(),
        store.table.clone(),
    ];
    if let Some(region) = &store.region {
        flags.extend(["--region".to_owned(), region.clone()]);
    }
    Ok(flags)
}

/// Runs `args.workers` worker processes against the stores `flags` (global flags)
/// name and the upstream at `upstream`, issuing `phase`'s requests (`stale`: stale
/// serving on); returns every outcome and the summed summary.
pub async fn run_fleet(
    args: &DemoArgs,
    flags: &[String],
    upstream: &str,
    (phase, stale): (Phase, bool),
    bar: &ProgressBar,
) -> anyhow::Result<(Vec<Outcome>, Summary)> {
    let exe = std::env::current_exe().context("locating the cvstore binary")?;
    let run = args
        .run_id
        .clone()
        .unwrap_or_else(|| format!("{:016x}", fastrand::u64(..)));
    let (lines, mut received) = mpsc::unbounded_channel();
    let mut children = Vec::new();
    for w in 0..args.workers {
        let mut command = tokio::process::Command::new(&exe);
        command
            .args(flags)
            .arg("demo-worker")
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
            .args(["--workers", &args.workers.to_string()])
            .args(["--phase", &phase_name(phase)])
            .args(stale.then_some("--stale-on"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
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
    let tally = super::Tally::of_this_run();
    while let Some(line) = received.recv().await {
        match line {
            WorkerLine::Outcome(o) => {
                bar.inc(1);
                bar.set_message(tally.add(&o));
                outcomes.push(o);
            }
            WorkerLine::Summary(s) => summary = summary + s,
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

/// `phase` as `--phase` spells it.
fn phase_name(phase: Phase) -> String {
    use clap::ValueEnum;
    phase
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_owned())
}

/// Runs `steps` one after the other (see [`run_fleet`]), pausing after a warm-up until
/// its entries are stale; returns the last step's outcomes and summary.
pub async fn run_steps(
    args: &DemoArgs,
    flags: &[String],
    upstream: &str,
    steps: &[(Phase, bool)],
    bar: &ProgressBar,
) -> anyhow::Result<(Vec<Outcome>, Summary)> {
    let mut last = (Vec::new(), Summary::default());
    for step in steps {
        last = run_fleet(args, flags, upstream, *step, bar).await?;
        if step.0 == Phase::WarmUp {
            tokio::time::sleep(budget::pause(args.window)).await;
        }
    }
    Ok(last)
}

/// `cvstore demo-worker`: one worker process of the DynamoDB or SQLite demo.
pub async fn worker(args: DemoWorkerArgs, store: &StoreArgs) -> anyhow::Result<()> {
    let backend = Backend::open(store, Some(super::limits(args.limit, args.window)?)).await?;
    // On DynamoDB the dedupe store is built with the cache: a miss completes its job
    // and then writes the entry, the value once.
    let (cache, dedupe) = backend.cache_and_dedupe::<Value>()?;
    let limiter = backend.adaptive()?;
    let fleet = Fleet::new(
        cache.shared(),
        dedupe.shared(),
        limiter.shared(),
        Upstream::new(&args.upstream),
        budget::settings(args.phase, args.stale_on, args.window),
    );
    let plan = budget::plan(
        args.phase,
        args.seed,
        (args.worker, args.workers),
        args.requests,
        args.limit,
        &args.run,
    );
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
    let cost = |m: Option<MetricsSnapshot>| {
        m.map(|m| Summary {
            rate_limit_waits: 0,
            dynamodb_requests: m.requests,
            read_units: m.read_units,
            write_units: m.write_units,
        })
        .unwrap_or_default()
    };
    let summary = cost(cache.metrics())
        + cost(dedupe.metrics())
        + cost(limiter.metrics())
        + Summary {
            rate_limit_waits: fleet
                .rate_limit_waits
                .load(std::sync::atomic::Ordering::Relaxed),
            ..Summary::default()
        };
    output::json(&WorkerLine::Summary(summary))
}

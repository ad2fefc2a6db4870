//! `cvstore demo`: a fleet of workers sharing one Comic Vine budget through the stores.
//!
//! Each worker issues a mix of Comic Vine-like requests (popular ones repeat, some are
//! made for a waiting user, most in the background). Every request goes
//! cache → dedupe → adaptive rate limit → upstream, the stub Comic Vine API (see
//! [`comic_vine_stub`]) on 127.0.0.1, which counts every call over its limit as a violation:
//! the run is correct when it reports `violations: 0`.
//!
//! - Without `--endpoint`/`--dynamodb-local`: the embedded in-memory stores, the workers
//!   are tasks of this process.
//! - With them: one DynamoDB table, the workers are OS processes (`cvstore demo-worker`)
//!   sharing it, as a fleet of Lambdas or containers would.
//! - With `--store sqlite:PATH`: one SQLite file, the workers are OS processes sharing
//!   it, as the processes of one host would.

mod fleet;
mod html;
mod live;
mod processes;
mod report;
pub(crate) mod scratch;
mod scratch_file;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use comic_vine_dashboard::StoreSource;
use comic_vine_dynamodb_store::local::DynamoDbLocal;
use comic_vine_store::memory::{MemoryAdaptiveRateLimitStore, MemoryCacheStore, MemoryDedupeStore};
use comic_vine_store::{AdaptiveConfig, RateLimit, RateLimitConfig};
use comic_vine_stub::{StubApi, StubConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

pub use processes::worker;

use self::fleet::{Fleet, Upstream};
use self::live::Live;
use self::report::{Report, Summary};
use crate::cli::{DemoArgs, StoreArgs, StoreSpec};
use crate::failure::UsageError;

/// Where the demo's stores live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The embedded in-memory stores; the workers are tasks.
    Memory,
    /// A DynamoDB table of the run's own (or `--into-table`); OS processes.
    DynamoDb,
    /// A SQLite file of the run's own (or `--into-file`); OS processes.
    Sqlite,
}

/// The mode the flags choose, refusing flags that belong to another mode.
fn mode(args: &DemoArgs, store: &StoreArgs) -> Result<Mode, UsageError> {
    let mode = match &store.store {
        Some(StoreSpec::Memory) => Mode::Memory,
        Some(StoreSpec::Sqlite(_)) => Mode::Sqlite,
        Some(StoreSpec::DynamoDb) => Mode::DynamoDb,
        None if args.dynamodb_local || store.endpoint.is_some() => Mode::DynamoDb,
        None => Mode::Memory,
    };
    let refuse = |what: &str| {
        Err(UsageError(format!(
            "{what} does not go with --store {}",
            store
                .store
                .as_ref()
                .map_or("memory".to_owned(), ToString::to_string)
        )))
    };
    if mode != Mode::DynamoDb {
        if args.dynamodb_local {
            return refuse("--dynamodb-local");
        }
        if store.endpoint.is_some() {
            return refuse("--endpoint (or CVSTORE_ENDPOINT)");
        }
        if args.target.into_table.is_some() {
            return refuse("--into-table");
        }
    }
    if mode != Mode::Sqlite && args.into_file.is_some() {
        return refuse("--into-file");
    }
    if mode == Mode::Memory && args.target.keep {
        return refuse("--keep");
    }
    Ok(mode)
}

/// How much the limiter's window exceeds the upstream's: max(250 ms, window / 8),
/// absorbing the time between a grant and the upstream seeing the call. A fixed 50 ms
/// let calls through early on a loaded 2-core machine (the stub counted violations).
pub(crate) fn window_margin(window: Duration) -> Duration {
    (window / 8).max(Duration::from_millis(250))
}

/// The limits and adaptive settings every worker uses.
pub(crate) fn limits(
    limit: u32,
    window: Duration,
) -> anyhow::Result<(RateLimitConfig, AdaptiveConfig)> {
    let limits = RateLimitConfig::new(
        RateLimit::new(limit, window + window_margin(window))
            .context("invalid --limit/--window")?,
    );
    let adaptive = AdaptiveConfig {
        monitoring_window: window * 3,
        recalculation_interval: window / 4,
        // The default reserve (5) suits Comic Vine's 200/hour; scale it to the demo's limit.
        min_user_reserved: limit / 4,
        ..AdaptiveConfig::default()
    };
    Ok((limits, adaptive))
}

/// Runs the demo and prints its report.
pub async fn run(mut args: DemoArgs, store: &StoreArgs, json_out: bool) -> anyhow::Result<()> {
    if args.workers == 0 || args.requests == 0 {
        bail!("--workers and --requests must be at least 1");
    }
    let api = StubApi::start(StubConfig {
        limit: args.limit as usize,
        window: args.window,
        latency: Duration::from_millis(15),
        retry_after: None,
    })
    .await
    .context("starting the stub Comic Vine API")?;
    let mode = mode(&args, store)?;
    // Shared by the worker processes, and known here for the dashboard's views.
    args.run_id = Some(format!("{:016x}", fastrand::u64(..)));
    let bar = progress_bar(&args, json_out);
    let started = Instant::now();
    let on_dynamodb = mode == Mode::DynamoDb;
    // The in-memory run's dashboard, stopped after the report (the stores outlive it).
    let mut memory_live = None;
    let (outcomes, summary, backend) = if mode == Mode::Sqlite {
        let run = scratch_file::RunFile::open(args.into_file.as_deref(), args.target.keep).await?;
        let flags = [
            "--store".to_owned(),
            StoreSpec::Sqlite(run.path().to_owned()).to_string(),
        ];
        let shared = StoreArgs {
            store: Some(StoreSpec::Sqlite(run.path().to_owned())),
            ..store.clone()
        };
        // A failure to start the dashboard still ends in `run.finish` (the file deleted).
        let fleet = match live::backend_source(&args, &shared).await {
            Ok(source) => match Live::start(&args, source).await {
                Ok(live) => {
                    let fleet = processes::run_fleet(&args, &flags, api.url(), &bar).await;
                    live.finish().await;
                    fleet
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let backend = format!(
            "SQLite file `{}`{}, {} OS processes",
            run.path().display(),
            if run.kept() { "" } else { " (deleted)" },
            args.workers
        );
        let (outcomes, summary) = run.finish(fleet)?;
        (outcomes, summary, backend)
    } else if on_dynamodb {
        let mut store = store.clone();
        // Kept alive for the run; dropping it stops the server.
        let _server = if store.endpoint.is_none() {
            eprintln!("starting DynamoDB Local on 127.0.0.1 …");
            let local = tokio::task::spawn_blocking(DynamoDbLocal::start)
                .await
                .context("starting DynamoDB Local")??;
            store.endpoint = Some(local.endpoint().to_owned());
            Some(local)
        } else {
            None
        };
        let run = scratch::RunTable::open("demo", &args.target, &store).await?;
        let live = match live::backend_source(&args, &run.store).await {
            Ok(source) => Live::start(&args, source).await,
            Err(e) => Err(e),
        };
        let fleet = match (live, processes::dynamodb_flags(&run.store)) {
            (Ok(live), Ok(flags)) => {
                let fleet = processes::run_fleet(&args, &flags, api.url(), &bar).await;
                live.finish().await;
                fleet
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        let backend = format!(
            "DynamoDB table `{}`{}, {} OS processes",
            run.name(),
            if run.kept() { "" } else { " (deleted)" },
            args.workers
        );
        let (outcomes, summary) = run.finish(fleet).await?;
        (outcomes, summary, backend)
    } else {
        let (limits, adaptive) = limits(args.limit, args.window)?;
        let cache = Arc::new(MemoryCacheStore::<Value>::new());
        let dedupe = Arc::new(MemoryDedupeStore::<Value>::new());
        let limiter = Arc::new(MemoryAdaptiveRateLimitStore::new(limits, adaptive)?);
        let mut source = StoreSource::new(fleet::RESOURCES);
        if args.dashboard {
            source = source
                .with_adaptive(limiter.clone())
                .with_cache(cache.clone())
                .with_dedupe(dedupe.clone())
                .with_known_keys(live::known_keys(&args, "memory"));
        }
        let live = Live::start(&args, source).await?;
        let fleet = Arc::new(Fleet::new(cache, dedupe, limiter, Upstream::new(api.url())));
        let tally = Arc::new(Tally::default());
        let mut tasks = Vec::new();
        for w in 0..args.workers {
            let (fleet, bar, tally) = (Arc::clone(&fleet), bar.clone(), Arc::clone(&tally));
            let plan = fleet::plan(args.seed, w, args.requests, "memory");
            tasks.push(tokio::spawn(async move {
                fleet
                    .run(plan, |o| {
                        bar.inc(1);
                        bar.set_message(tally.add(o));
                    })
                    .await
            }));
        }
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.extend(t.await.context("a demo worker panicked")?);
        }
        let summary = Summary {
            rate_limit_waits: fleet
                .rate_limit_waits
                .load(std::sync::atomic::Ordering::Relaxed),
            ..Summary::default()
        };
        memory_live = Some(live);
        (outcomes, summary, "in-memory (embedded)".to_owned())
    };
    bar.finish_and_clear();
    let report = Report::new(
        &args,
        backend,
        &outcomes,
        summary,
        on_dynamodb,
        &api,
        started.elapsed(),
    );
    report.print(json_out)?;
    if let Some(path) = &args.report {
        let page = html::render(
            &serde_json::to_value(&report)?,
            &api.call_log(),
            api.limit(),
            api.window(),
            started.elapsed(),
        );
        html::write(path, &page)?;
        eprintln!("report written to {}", path.display());
    }
    if let Some(live) = memory_live {
        live.finish().await;
    }
    if report.violations > 0 || report.failed > 0 {
        bail!(
            "{} upstream limit violations, {} failed requests",
            report.violations,
            report.failed
        );
    }
    Ok(())
}

/// Running counts shown on the progress line.
#[derive(Default)]
pub(crate) struct Tally {
    served: [std::sync::atomic::AtomicU64; 4],
}

impl Tally {
    /// Counts one outcome and returns the progress message.
    pub(crate) fn add(&self, o: &fleet::Outcome) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let i = match o.served {
            Ok(fleet::ServedBy::Cache) => 0,
            Ok(fleet::ServedBy::DedupeJoin) => 1,
            Ok(fleet::ServedBy::Upstream) => 2,
            Err(_) => 3,
        };
        self.served[i].fetch_add(1, Relaxed);
        let n = |i: usize| self.served[i].load(Relaxed);
        format!(
            "cache hits {} · dedupe joins {} · upstream {} · failed {}",
            n(0),
            n(1),
            n(2),
            n(3)
        )
    }
}

fn progress_bar(args: &DemoArgs, json_out: bool) -> ProgressBar {
    let bar = if json_out {
        ProgressBar::hidden()
    } else {
        ProgressBar::new((args.workers * args.requests) as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} requests · {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

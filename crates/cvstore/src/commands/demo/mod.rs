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
//!
//! With `--budget-spent` the workers run the budget-spent phase instead (see
//! [`budget`]), with stale serving off and on (`--stale`), reported side by side.

mod answers;
mod budget;
mod fleet;
mod html;
mod live;
mod memory;
mod processes;
mod progress;
mod report;
pub(crate) mod scratch;
mod scratch_file;
mod side_by_side;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use comic_vine_store::{AdaptiveConfig, RateLimit, RateLimitConfig};
use comic_vine_stub::{StubApi, StubCaching, StubConfig};

pub use processes::worker;

use self::live::Live;
pub(crate) use self::progress::Tally;
use self::progress::progress_bar;
use self::report::Report;
use crate::cli::{DemoArgs, Phase, StaleMode, StoreArgs, StoreSpec};
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

/// One demo run's result: its report, the stub's call log, and the in-memory run's
/// dashboard (stopped by [`Run::finish`]).
struct Run {
    report: Report,
    calls: Vec<comic_vine_stub::StubCall>,
    elapsed: Duration,
    live: Option<Live>,
}

impl Run {
    /// Its section of the HTML report.
    fn section(&self, title: &str) -> anyhow::Result<html::Section> {
        Ok(html::Section {
            title: title.to_owned(),
            report: serde_json::to_value(&self.report)?,
            calls: self.calls.clone(),
            elapsed: self.elapsed,
        })
    }

    /// Stops the in-memory run's dashboard (after `--dashboard-linger`).
    async fn finish(&mut self) {
        if let Some(live) = self.live.take() {
            live.finish().await;
        }
    }
}

/// The fleet runs of the demo: the request mix, or the budget-spent phase's warm-up and
/// phase with stale serving `stale`.
fn steps(args: &DemoArgs, stale: bool) -> Vec<(Phase, bool)> {
    if args.budget_spent {
        vec![(Phase::WarmUp, stale), (Phase::Budget, stale)]
    } else {
        vec![(Phase::Mix, false)]
    }
}

/// Runs the demo and prints its report.
pub async fn run(args: DemoArgs, store: &StoreArgs, json_out: bool) -> anyhow::Result<()> {
    if args.workers == 0 || args.requests == 0 {
        bail!("--workers and --requests must be at least 1");
    }
    let mode = mode(&args, store)?;
    let mut store = store.clone();
    // Kept alive for the runs; dropping it stops the server.
    let _server = if mode == Mode::DynamoDb {
        scratch::local_unless_endpoint(&mut store).await?
    } else {
        None
    };
    if !args.budget_spent {
        let mut run = run_once(args.clone(), &store, mode, &steps(&args, false), json_out).await?;
        run.report.print(json_out)?;
        write_page(&args, &[run.section("")?])?;
        run.finish().await;
        if run.report.violations > 0 || run.report.failed > 0 {
            bail!(
                "{} upstream limit violations, {} failed requests",
                run.report.violations,
                run.report.failed
            );
        }
        return Ok(());
    }
    let stale: &[bool] = match args.stale {
        StaleMode::Off => &[false],
        StaleMode::On => &[true],
        StaleMode::Both => &[false, true],
    };
    let (mut off, mut on, mut sections) = (None, None, Vec::new());
    for &stale in stale {
        let mut run = run_once(args.clone(), &store, mode, &steps(&args, stale), json_out).await?;
        run.finish().await;
        let title = if stale {
            "stale serving on"
        } else {
            "stale serving off"
        };
        sections.push(run.section(title)?);
        *(if stale { &mut on } else { &mut off }) = Some(run.report);
    }
    let report = side_by_side::BudgetReport::new(&args, off, on);
    report.print(json_out)?;
    write_page(&args, &sections)?;
    if let Some(failure) = report.failure() {
        bail!("{failure}");
    }
    Ok(())
}

/// Writes the HTML report of `sections` if `--report` was given.
fn write_page(args: &DemoArgs, sections: &[html::Section]) -> anyhow::Result<()> {
    if let Some(path) = &args.report {
        let window = args.window;
        html::write(path, &html::render(sections, args.limit as usize, window))?;
        eprintln!("report written to {}", path.display());
    }
    Ok(())
}

/// One run of the demo's `steps` against a stub of its own, in `mode`.
async fn run_once(
    mut args: DemoArgs,
    store: &StoreArgs,
    mode: Mode,
    steps: &[(Phase, bool)],
    json_out: bool,
) -> anyhow::Result<Run> {
    let config = StubConfig {
        limit: args.limit as usize,
        window: args.window,
        latency: Duration::from_millis(15),
        retry_after: None,
    };
    // The budget-spent phase's stub sends an `ETag` and answers conditional calls `304`.
    let caching = StubCaching {
        validators: args.budget_spent,
        ..StubCaching::sparse()
    };
    let api = StubApi::start_with_caching(config, caching)
        .await
        .context("starting the stub Comic Vine API")?;
    // Shared by the worker processes, and known here for the dashboard's views.
    args.run_id = Some(format!("{:016x}", fastrand::u64(..)));
    let bar = progress_bar(&args, steps, json_out);
    let started = Instant::now();
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
                    let fleet = processes::run_steps(&args, &flags, api.url(), steps, &bar).await;
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
    } else if mode == Mode::DynamoDb {
        let run = scratch::RunTable::open("demo", &args.target, store).await?;
        let live = match live::backend_source(&args, &run.store).await {
            Ok(source) => Live::start(&args, source).await,
            Err(e) => Err(e),
        };
        let fleet = match (live, processes::dynamodb_flags(&run.store)) {
            (Ok(live), Ok(flags)) => {
                let fleet = processes::run_steps(&args, &flags, api.url(), steps, &bar).await;
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
        let (outcomes, summary, live) = memory::run(&args, api.url(), steps, &bar).await?;
        memory_live = Some(live);
        (outcomes, summary, "in-memory (embedded)".to_owned())
    };
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let on_dynamodb = mode == Mode::DynamoDb;
    let report = Report::new(
        &args,
        backend,
        &outcomes,
        summary,
        on_dynamodb,
        &api,
        elapsed,
    );
    Ok(Run {
        report,
        calls: api.call_log(),
        elapsed,
        live: memory_live,
    })
}

//! The in-memory demo: the embedded stores, the workers are tasks of this process.

use std::sync::Arc;

use anyhow::Context;
use comic_vine_dashboard::StoreSource;
use comic_vine_store::memory::{MemoryAdaptiveRateLimitStore, MemoryCacheStore, MemoryDedupeStore};
use indicatif::ProgressBar;
use serde_json::Value;

use super::budget;
use super::fleet::{self, Fleet, Outcome, Upstream};
use super::live::{self, Live};
use super::progress::Tally;
use super::report::Summary;
use crate::cli::{DemoArgs, Phase};

/// Runs `steps` on in-memory stores shared by `args.workers` tasks, pausing after a
/// warm-up until its entries are stale; returns the last step's outcomes and summary,
/// and the dashboard (`--dashboard`), still up.
pub(super) async fn run(
    args: &DemoArgs,
    upstream: &str,
    steps: &[(Phase, bool)],
    bar: &ProgressBar,
) -> anyhow::Result<(Vec<Outcome>, Summary, Live)> {
    let (limits, adaptive) = super::limits(args.limit, args.window)?;
    let cache = Arc::new(MemoryCacheStore::<Value>::new());
    let dedupe = Arc::new(MemoryDedupeStore::<Value>::new());
    let limiter = Arc::new(MemoryAdaptiveRateLimitStore::new(limits, adaptive)?);
    let mut source = StoreSource::new(fleet::RESOURCES);
    if args.dashboard {
        source = source
            .with_adaptive(limiter.clone())
            .with_cache(cache.clone())
            .with_dedupe(dedupe.clone())
            .with_known_keys(live::known_keys(args, "memory"))
            .with_usage(Tally::usage());
    }
    let live = Live::start(args, source).await?;
    let tally = Tally::of_this_run();
    let mut last = (Vec::new(), Summary::default());
    for &(phase, stale) in steps {
        let settings = budget::settings(phase, stale, args.window);
        let upstream = Upstream::new(upstream);
        let fleet = Fleet::new(
            cache.clone(),
            dedupe.clone(),
            limiter.clone(),
            upstream,
            settings,
        );
        let fleet = Arc::new(fleet);
        let mut tasks = Vec::new();
        for w in 0..args.workers {
            let (fleet, bar, tally) = (Arc::clone(&fleet), bar.clone(), Arc::clone(&tally));
            let workers = (w, args.workers);
            let plan = budget::plan(
                phase,
                args.seed,
                workers,
                args.requests,
                args.limit,
                "memory",
            );
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
        last = (outcomes, summary);
        if phase == Phase::WarmUp {
            tokio::time::sleep(budget::pause(args.window)).await;
        }
    }
    Ok((last.0, last.1, live))
}

//! The demo's progress line: requests done and who answered them.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use comic_vine_dashboard::{UsageFn, UsageView};

use indicatif::{ProgressBar, ProgressStyle};

use super::budget::seen_keys;
use super::fleet::{self, RESOURCES};
use crate::cli::{DemoArgs, Phase};

/// Running counts shown on the progress line.
#[derive(Default)]
pub(crate) struct Tally {
    served: [AtomicU64; 5],
}

impl Tally {
    /// The counts of this demo run (every phase, every worker this process hears of):
    /// the progress line's and the dashboard's.
    pub(crate) fn of_this_run() -> Arc<Tally> {
        static RUN: OnceLock<Arc<Tally>> = OnceLock::new();
        Arc::clone(RUN.get_or_init(Arc::default))
    }

    /// The dashboard's overview figures: hits (fresh, revalidated, stale) and misses
    /// (joined, upstream) of this run so far.
    pub(crate) fn usage() -> UsageFn {
        let tally = Self::of_this_run();
        Arc::new(move || {
            let n = |i: usize| tally.served[i].load(Relaxed);
            UsageView {
                scope: "this demo run's requests (its stores' units are not reported)".into(),
                hits: Some(n(0) + n(1)),
                misses: Some(n(2) + n(3)),
                ..UsageView::default()
            }
        })
    }

    /// Counts one outcome and returns the progress message.
    pub(crate) fn add(&self, o: &fleet::Outcome) -> String {
        let i = match o.served {
            Ok(fleet::ServedBy::Cache | fleet::ServedBy::Revalidated) => 0,
            Ok(fleet::ServedBy::Stale) => 1,
            Ok(fleet::ServedBy::DedupeJoin) => 2,
            Ok(fleet::ServedBy::Upstream) => 3,
            Err(_) => 4,
        };
        self.served[i].fetch_add(1, Relaxed);
        let n = |i: usize| self.served[i].load(Relaxed);
        format!(
            "cache hits {} · stale {} · dedupe joins {} · upstream {} · failed {}",
            n(0),
            n(1),
            n(2),
            n(3),
            n(4)
        )
    }
}

/// The progress bar of `steps` (hidden with `--json`).
pub(super) fn progress_bar(
    args: &DemoArgs,
    steps: &[(Phase, bool)],
    json_out: bool,
) -> ProgressBar {
    let total: usize = steps
        .iter()
        .map(|(phase, _)| match phase {
            Phase::WarmUp => seen_keys(args.limit) as usize * RESOURCES.len(),
            Phase::Mix | Phase::Budget => args.workers * args.requests,
        })
        .sum();
    let bar = if json_out {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} requests · {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

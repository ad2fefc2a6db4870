//! `cvstore demo --dashboard`: the dashboard over the demo's stores while it runs.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_dashboard::{Dashboard, DashboardOptions, KnownKeys, StoreSource};
use serde_json::Value;

use super::{budget, fleet};
use crate::cli::{DemoArgs, StoreArgs};
use crate::commands::backend::Backend;

/// The dashboard of one run, if `--dashboard` was given.
pub(super) struct Live {
    dashboard: Option<Dashboard>,
    linger: Duration,
}

impl Live {
    /// Starts the dashboard over `source` if `--dashboard` was given, and prints its URL
    /// on stderr.
    pub(super) async fn start(args: &DemoArgs, source: StoreSource) -> anyhow::Result<Self> {
        let linger = args.dashboard_linger.unwrap_or_default();
        if !args.dashboard {
            return Ok(Self {
                dashboard: None,
                linger,
            });
        }
        let options = DashboardOptions::default().port(args.dashboard_port.unwrap_or(0));
        let dashboard = Dashboard::start(Arc::new(source), options).await?;
        eprintln!(
            "dashboard of the demo's stores at {} (read-only, until the demo ends{})",
            dashboard.url(),
            if linger.is_zero() {
                String::new()
            } else {
                format!(" and {} s more", linger.as_secs_f64())
            }
        );
        Ok(Self {
            dashboard: Some(dashboard),
            linger,
        })
    }

    /// Stops the dashboard after `--dashboard-linger`.
    pub(super) async fn finish(self) {
        if let Some(d) = self.dashboard {
            if !self.linger.is_zero() {
                eprintln!(
                    "the dashboard stays up {} s (--dashboard-linger)",
                    self.linger.as_secs_f64()
                );
                tokio::time::sleep(self.linger).await;
            }
            d.shutdown().await;
        }
    }
}

/// The keys every worker of run `run` will request, by resource.
pub(super) fn known_keys(args: &DemoArgs, run: &str) -> Arc<KnownKeys> {
    let known = Arc::new(KnownKeys::new(10_000));
    for (phase, _) in super::steps(args, false) {
        for w in 0..args.workers {
            let workers = (w, args.workers);
            for planned in budget::plan(phase, args.seed, workers, args.requests, args.limit, run) {
                let (resource, key) = planned.key();
                known.record(resource, &key);
            }
        }
    }
    known
}

/// A source over the stores of a DynamoDB table or SQLite file the worker processes
/// share, knowing the keys of `args.run_id`'s requests.
pub(super) async fn backend_source(
    args: &DemoArgs,
    store: &StoreArgs,
) -> anyhow::Result<StoreSource> {
    let Some(run) = args.run_id.as_deref().filter(|_| args.dashboard) else {
        return Ok(StoreSource::default());
    };
    let backend = Backend::open(store, Some(super::limits(args.limit, args.window)?)).await?;
    Ok(StoreSource::new(fleet::RESOURCES)
        .with_adaptive(backend.adaptive()?.shared())
        .with_cache(backend.cache::<Value>().shared())
        .with_dedupe(backend.dedupe::<Value>().shared())
        .with_known_keys(known_keys(args, run))
        .with_usage(super::Tally::usage()))
}

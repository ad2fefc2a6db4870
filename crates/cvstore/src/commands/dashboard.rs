//! `cvstore dashboard`: the local web dashboard of the stores on the table (see the
//! `comic-vine-dashboard` crate), until Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use comic_vine_dashboard::{CircuitView, Dashboard, DashboardOptions, StoreSource, UsageView};
use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::{
    DynamoDbAdaptiveRateLimitStore, DynamoDbCacheStore, DynamoDbDedupeStore, DynamoDbRateLimitStore,
};
use comic_vine_store::{AdaptiveConfig, RateLimit, RateLimitConfig};
use serde_json::{Value, json};

use super::{connect, output};
use crate::cli::{StoreArgs, parse_duration};
use crate::failure::UsageError;

/// Options of `cvstore dashboard`.
#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// The resources shown, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "issues,volumes,characters",
        value_parser = parse_resource
    )]
    pub resources: Vec<String>,
    /// Every resource's limit per window, as the fleet configures it [default: 60].
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Every resource's window, e.g. `3s`, `1h` [default: 1m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub window: Option<Duration>,
    /// Also show the adaptive (priority-aware) limiter's state and split.
    #[arg(long)]
    pub adaptive: bool,
    /// Listen on 127.0.0.1:PORT [default: a free port].
    #[arg(long)]
    pub port: Option<u16>,
    /// Listen on this address instead, which may be a non-loopback one: the dashboard has
    /// no authentication, so only on a network you trust.
    #[arg(long, value_name = "ADDR", conflicts_with = "port")]
    pub bind: Option<SocketAddr>,
    /// Allow the page to reset windows and delete or clear cache entries (each asks for
    /// confirmation and carries the page's CSRF token).
    #[arg(long)]
    pub allow_writes: bool,
}

fn parse_resource(text: &str) -> Result<String, String> {
    comic_vine_store::validate::resource(text).map_err(|e| e.to_string())?;
    Ok(text.to_owned())
}

/// Serves the dashboard until Ctrl-C.
pub async fn run(args: DashboardArgs, store: &StoreArgs, json: bool) -> anyhow::Result<()> {
    let default = RateLimit::default();
    // Checked before anything is connected: a usage error (exit 2), not a failure.
    let limit = RateLimit::new(
        args.limit.unwrap_or(default.limit()),
        args.window.unwrap_or(default.window()),
    )
    .map_err(|e| UsageError(format!("invalid --limit/--window: {e}")))?;
    let adaptive = AdaptiveConfig {
        min_user_reserved: AdaptiveConfig::default()
            .min_user_reserved
            .min(limit.limit().saturating_sub(1)),
        ..AdaptiveConfig::default()
    };
    let table = connect::table(store).await?;
    let limits = RateLimitConfig::new(limit);
    let cache = Arc::new(DynamoDbCacheStore::<Value>::new(&table));
    let breaker = cache.clone();
    let limiter = Arc::new(
        DynamoDbRateLimitStore::builder(&table)
            .limits(limits.clone())
            .build()?,
    );
    // Read only (`job`): its view shows the jobs of the keys the cache lists.
    let dedupe = Arc::new(DynamoDbDedupeStore::<Value>::new(&table));
    let adaptive_store = if args.adaptive {
        Some(Arc::new(
            DynamoDbAdaptiveRateLimitStore::builder(&table)
                .limits(limits)
                .adaptive(adaptive)
                .build()?,
        ))
    } else {
        None
    };
    let usage = {
        let (cache, limiter, dedupe) = (cache.clone(), limiter.clone(), dedupe.clone());
        let adaptive = adaptive_store.clone();
        move || {
            let mut all = vec![cache.metrics(), limiter.metrics(), dedupe.metrics()];
            all.extend(adaptive.as_ref().map(|a| a.metrics()));
            own_usage(&all)
        }
    };
    let mut source = StoreSource::new(args.resources.clone())
        .with_rate_limits(limiter)
        .with_cache(cache)
        .with_dedupe(dedupe)
        .with_usage(Arc::new(usage))
        .with_circuit(Arc::new(move || {
            let s = breaker.circuit_status();
            let state = serde_json::to_value(s.state).ok()?;
            Some(CircuitView {
                state: state.as_str()?.to_owned(),
                failures: s.failures,
                next_attempt: s.next_attempt,
            })
        }));
    if let Some(adaptive) = adaptive_store {
        source = source.with_adaptive(adaptive);
    }
    let mut options = DashboardOptions::default()
        .port(args.port.unwrap_or(0))
        .allow_writes(args.allow_writes);
    if let Some(addr) = args.bind {
        options = options.bind(addr);
    }
    let dashboard = Dashboard::start(Arc::new(source), options).await?;
    if json {
        output::json(&json!({"url": dashboard.url(), "table": table.name()}))?;
    } else {
        output::line(format_args!(
            "dashboard of table {} at {} ({}); Ctrl-C stops it",
            table.name(),
            dashboard.url(),
            if args.allow_writes {
                "writes allowed"
            } else {
                "read-only"
            }
        ))?;
    }
    tokio::signal::ctrl_c().await?;
    dashboard.shutdown().await;
    Ok(())
}

/// The overview's usage of `cvstore dashboard`: what its own stores sent to the table.
/// The fleet's hits and units are not stored in the table, so they are not known here.
fn own_usage(stores: &[comic_vine_dynamodb_store::MetricsSnapshot]) -> UsageView {
    UsageView {
        scope: "the requests this dashboard's own reads sent to the table (the fleet's \
                traffic is not recorded in it)"
            .into(),
        hits: None,
        misses: None,
        store_requests: Some(stores.iter().map(|m| m.requests).sum()),
        read_units: Some(stores.iter().map(|m| m.billed_read_units).sum()),
        write_units: Some(stores.iter().map(|m| m.billed_write_units).sum()),
    }
}

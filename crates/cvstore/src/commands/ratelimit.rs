//! `cvstore ratelimit acquire|status|reset|wait-time`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use comic_vine_dynamodb_store::{DynamoDbAdaptiveRateLimitStore, DynamoDbRateLimitStore, Table};
use comic_vine_store::{
    AdaptiveRateLimitStore, Priority, RateLimit, RateLimitConfig, RateLimitStatus, RateLimitStore,
};
use serde_json::json;

use super::{connect, output};
use crate::cli::{LimitArgs, PriorityArg, RateLimitCommand, StoreArgs};

/// Runs a `ratelimit` subcommand.
pub async fn run(command: RateLimitCommand, store: &StoreArgs, json: bool) -> anyhow::Result<()> {
    let table = connect::table(store).await?;
    match command {
        RateLimitCommand::Acquire {
            resource,
            limit,
            priority,
        } => {
            let limits = limits(&resource, limit)?;
            let (decision, metrics) = match priority {
                None => {
                    let s = DynamoDbRateLimitStore::new(&table).with_limits(limits);
                    (s.try_acquire(&resource).await?, s.metrics())
                }
                Some(p) => {
                    let s = adaptive(&table, limits)?;
                    (s.try_acquire(&resource, priority_of(p)).await?, s.metrics())
                }
            };
            if json {
                output::json(&json!({
                    "resource": resource,
                    "granted": decision.granted,
                    "remaining": decision.remaining,
                    "limit": decision.limit,
                    "reset_at": decision.reset_at.as_millis(),
                    "wait_ms": millis(decision.wait),
                    "granted_at": decision.granted_at.map(|t| t.as_millis()),
                    "metrics": metrics,
                }))
            } else if decision.granted {
                output::line(format_args!(
                    "granted: {resource} ({} of {} left in this window)",
                    decision.remaining, decision.limit
                ))
            } else {
                output::line(format_args!(
                    "denied: {resource}, retry in {} ms",
                    millis(decision.wait)
                ))
            }
        }
        RateLimitCommand::Status {
            resource,
            limit,
            adaptive: use_adaptive,
        } => {
            let limits = limits(&resource, limit)?;
            let status = if use_adaptive {
                adaptive(&table, limits)?.status(&resource).await?
            } else {
                DynamoDbRateLimitStore::new(&table)
                    .with_limits(limits)
                    .status(&resource)
                    .await?
            };
            print_status(&resource, &status, json)
        }
        RateLimitCommand::Reset {
            resource,
            adaptive: use_adaptive,
        } => {
            if use_adaptive {
                adaptive(&table, RateLimitConfig::default())?
                    .reset(&resource)
                    .await?;
            } else {
                DynamoDbRateLimitStore::new(&table).reset(&resource).await?;
            }
            if json {
                output::json(&json!({"resource": resource, "reset": true}))
            } else {
                output::line(format_args!("reset {resource}"))
            }
        }
        RateLimitCommand::WaitTime {
            resource,
            limit,
            priority,
        } => {
            let limits = limits(&resource, limit)?;
            let wait = match priority {
                None => {
                    DynamoDbRateLimitStore::new(&table)
                        .with_limits(limits)
                        .wait_time(&resource)
                        .await?
                }
                Some(p) => {
                    adaptive(&table, limits)?
                        .wait_time(&resource, priority_of(p))
                        .await?
                }
            };
            if json {
                output::json(&json!({"resource": resource, "wait_ms": millis(wait)}))
            } else {
                output::line(millis(wait))
            }
        }
    }
}

/// The limits: 60 per minute, or what `--limit`/`--window` say for `resource`.
fn limits(resource: &str, args: LimitArgs) -> anyhow::Result<RateLimitConfig> {
    let default = RateLimit::default();
    if args.limit.is_none() && args.window.is_none() {
        return Ok(RateLimitConfig::new(default));
    }
    let limit = RateLimit::new(
        args.limit.unwrap_or(default.limit()),
        args.window.unwrap_or(default.window()),
    )
    .context("invalid --limit/--window")?;
    Ok(RateLimitConfig::new(default).with_resource(resource, limit)?)
}

fn adaptive(
    table: &Table,
    limits: RateLimitConfig,
) -> anyhow::Result<Arc<DynamoDbAdaptiveRateLimitStore>> {
    Ok(Arc::new(
        DynamoDbAdaptiveRateLimitStore::new(table)?.with_limits(limits)?,
    ))
}

fn priority_of(p: PriorityArg) -> Priority {
    match p {
        PriorityArg::User => Priority::User,
        PriorityArg::Background => Priority::Background,
    }
}

fn millis(d: Duration) -> u64 {
    comic_vine_store::clock::duration_millis(d)
}

fn print_status(resource: &str, s: &RateLimitStatus, json: bool) -> anyhow::Result<()> {
    if json {
        return output::json(&json!({
            "resource": resource,
            "remaining": s.remaining,
            "limit": s.limit,
            "window_ms": millis(s.window),
            "reset_at": s.reset_at.as_millis(),
            "cooldown_until": s.cooldown_until.map(|t| t.as_millis()),
            "adaptive": s.adaptive,
        }));
    }
    output::line(format_args!(
        "{resource}: {} of {} left per {} ms; a slot frees at {}{}",
        s.remaining,
        s.limit,
        millis(s.window),
        s.reset_at,
        s.cooldown_until
            .map(|c| format!("; cooling down until {c}"))
            .unwrap_or_default()
    ))?;
    if let Some(a) = &s.adaptive {
        output::line(format_args!(
            "adaptive: users {} reserved, background at most {}{}; {} recent user requests ({:?}); {}",
            a.user_reserved,
            a.background_max,
            if a.background_paused { " (paused)" } else { "" },
            a.recent_user_activity,
            a.trend,
            a.reason
        ))?;
    }
    Ok(())
}

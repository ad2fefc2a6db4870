//! `cvstore ratelimit acquire|status|reset|wait-time`.

use std::time::Duration;

use comic_vine_store::{AdaptiveConfig, Priority, RateLimit, RateLimitConfig, RateLimitStatus};
use serde_json::json;

use super::backend::Backend;
use super::{Outcome, output};
use crate::cli::{AskArgs, LimitArgs, PriorityArg, RateLimitCommand, StoreArgs};
use crate::failure::UsageError;

/// Runs a `ratelimit` subcommand.
pub async fn run(
    command: RateLimitCommand,
    store: &StoreArgs,
    json: bool,
) -> anyhow::Result<Outcome> {
    // The flags are checked together before connecting.
    let (resource, limit) = match &command {
        RateLimitCommand::Acquire(ask) | RateLimitCommand::WaitTime(ask) => {
            (ask.resource.as_str(), ask.limit)
        }
        RateLimitCommand::Status {
            resource, limit, ..
        } => (resource.as_str(), *limit),
        RateLimitCommand::Reset { resource, .. } => (resource.as_str(), LimitArgs::default()),
    };
    let limits = Limits::new(resource, limit)?;
    let backend = Backend::open(store, Some((limits.config, limits.adaptive))).await?;
    match command {
        RateLimitCommand::Acquire(AskArgs {
            resource, priority, ..
        }) => {
            let (decision, metrics) = match priority {
                None => {
                    let s = backend.rate_limit()?;
                    (s.try_acquire(&resource).await?, s.metrics())
                }
                Some(p) => {
                    let s = backend.adaptive()?;
                    (s.try_acquire(&resource, priority_of(p)).await?, s.metrics())
                }
            };
            let outcome = if decision.granted {
                Outcome::Done
            } else {
                Outcome::Denied
            };
            if json {
                let mut body = json!({
                    "resource": resource,
                    "granted": decision.granted,
                    "remaining": decision.remaining,
                    "limit": decision.limit,
                    "reset_at": decision.reset_at.as_millis(),
                    "wait_ms": millis(decision.wait),
                    "granted_at": decision.granted_at.map(|t| t.as_millis()),
                });
                if let Some(m) = metrics {
                    body["metrics"] = serde_json::to_value(m)?;
                }
                output::json(&body)?;
            } else if decision.granted {
                output::line(format_args!(
                    "granted: {resource} ({} of {} left in this window)",
                    decision.remaining, decision.limit
                ))?;
            } else {
                output::line(format_args!(
                    "denied: {resource}, retry in {} ms",
                    millis(decision.wait)
                ))?;
            }
            return Ok(outcome);
        }
        RateLimitCommand::Status {
            resource,
            adaptive: use_adaptive,
            ..
        } => {
            let status = if use_adaptive {
                backend.adaptive()?.status(&resource).await?
            } else {
                backend.rate_limit()?.status(&resource).await?
            };
            print_status(&resource, &status, json)?;
        }
        RateLimitCommand::Reset {
            resource,
            adaptive: use_adaptive,
        } => {
            if use_adaptive {
                backend.adaptive()?.reset(&resource).await?;
            } else {
                backend.rate_limit()?.reset(&resource).await?;
            }
            if json {
                output::json(&json!({"resource": resource, "reset": true}))?;
            } else {
                output::line(format_args!("reset {resource}"))?;
            }
        }
        RateLimitCommand::WaitTime(AskArgs {
            resource, priority, ..
        }) => {
            let wait = match priority {
                None => backend.rate_limit()?.wait_time(&resource).await?,
                Some(p) => {
                    backend
                        .adaptive()?
                        .wait_time(&resource, priority_of(p))
                        .await?
                }
            };
            if json {
                output::json(&json!({"resource": resource, "wait_ms": millis(wait)}))?;
            } else {
                output::line(millis(wait))?;
            }
        }
    }
    Ok(Outcome::Done)
}

/// The limits a command works with, checked against each other.
struct Limits {
    /// 60 per minute, or what `--limit`/`--window` say for the resource.
    config: RateLimitConfig,
    /// The adaptive settings: the defaults, with the user reserve below the limit.
    adaptive: AdaptiveConfig,
}

impl Limits {
    /// The limits the flags give `resource`. The user reserve is
    /// `--min-user-reserved`, or the adaptive default scaled down to below the limit.
    fn new(resource: &str, args: LimitArgs) -> anyhow::Result<Self> {
        let default = RateLimit::default();
        let config = if args.limit.is_none() && args.window.is_none() {
            RateLimitConfig::new(default)
        } else {
            // Both are in range (checked by their parsers).
            let limit = RateLimit::new(
                args.limit.unwrap_or(default.limit()),
                args.window.unwrap_or(default.window()),
            )?;
            // Every resource's limit: only this one is used.
            RateLimitConfig::new(limit)
        };
        let limit = config.limit_for(resource).limit();
        let min_user_reserved = match args.min_user_reserved {
            Some(reserved) if reserved >= limit => {
                return Err(UsageError(format!(
                    "invalid --min-user-reserved: {reserved} must be less than --limit \
                     ({limit}{}), or background requests could never run",
                    if args.limit.is_none() {
                        ", the default"
                    } else {
                        ""
                    }
                ))
                .into());
            }
            Some(reserved) => reserved,
            None => AdaptiveConfig::default()
                .min_user_reserved
                .min(limit.saturating_sub(1)),
        };
        let adaptive = AdaptiveConfig {
            min_user_reserved,
            ..AdaptiveConfig::default()
        };
        Ok(Self { config, adaptive })
    }
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

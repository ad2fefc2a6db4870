//! [`DynamoDbAdaptiveRateLimitStore`]: the priority-aware limiter on DynamoDB.
//!
//! One item per resource (`RATELIMIT#<resource>` / `ADAPTIVE`) holds the whole
//! [`AdaptiveState`]: grants with their priority (packed), user activity per bucket, the
//! last user and background grant, the split in force and the cooldown. Because
//! activity and the split live in the table, every process decides on the same numbers;
//! updates go through the same compare-and-swap cell as the plain limiter, running the
//! core crate's pure [`prioritized`](comic_vine_store::algorithm::prioritized) algorithm.
//! Nothing is ever scanned.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use comic_vine_store::algorithm::activity::ActivityLog;
use comic_vine_store::algorithm::prioritized::{self, AdaptiveState, Grant};
use comic_vine_store::clock::{SharedClock, duration_millis};
use comic_vine_store::{
    AdaptiveConfig, AdaptiveRateLimitStore, AdaptiveStatus, Decision, Priority, RateLimitConfig,
    RateLimitStatus, StoreError, StoreResult, Timestamp, validate,
};

use crate::cas::{CasCell, CasState};
use crate::handle::Table;
use crate::item::{self, Fields, Item};
use crate::keys;
use crate::packing;
use crate::resilience::Gate;

const GRANTS: &str = "G";
const ACTIVITY: &str = "ACT";
const LAST_USER: &str = "LU";
const LAST_BACKGROUND: &str = "LB";
const SPLIT: &str = "SPLIT";
const COOLDOWN: &str = "CD";
const WINDOW: &str = "WIN";
/// Activity is kept for the monitoring window; items live at least this long after the
/// last change, and longer when the window or monitoring window is longer.
const TTL_MARGIN: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, Default)]
struct Stored {
    state: AdaptiveState,
    /// How long the item must be kept after its last change.
    keep: Duration,
}

impl CasState for Stored {
    fn encode(&self, item: &mut Item) {
        let s = &self.state;
        let grants = s
            .grants
            .iter()
            .map(|g| (g.at, u8::from(g.priority == Priority::User)));
        item.insert(GRANTS.to_owned(), item::b(packing::pack(grants)));
        let activity = packing::pack_numbers(
            s.activity
                .buckets()
                .iter()
                .flat_map(|&(index, count)| [index, u64::from(count)])
                .collect::<Vec<_>>()
                .into_iter(),
        );
        item.insert(ACTIVITY.to_owned(), item::b(activity));
        for (name, value) in [
            (LAST_USER, s.last_user_at),
            (LAST_BACKGROUND, s.last_background_at),
            (COOLDOWN, s.cooldown_until),
        ] {
            if let Some(t) = value {
                item.insert(name.to_owned(), item::n(t.as_millis()));
            }
        }
        if let Some(split) = &s.split
            && let Ok(json) = serde_json::to_string(split)
        {
            item.insert(SPLIT.to_owned(), item::s(json));
        }
        item.insert(WINDOW.to_owned(), item::n(duration_millis(self.keep)));
    }

    fn decode(item: &Item, what: &str) -> StoreResult<Self> {
        let f = Fields::new(item, what);
        let grants = match f.opt_b(GRANTS)? {
            Some(bytes) => packing::unpack(bytes, what)?
                .into_iter()
                .map(|(at, user)| Grant {
                    at,
                    priority: if user == 1 {
                        Priority::User
                    } else {
                        Priority::Background
                    },
                })
                .collect(),
            None => Vec::new(),
        };
        let activity = match f.opt_b(ACTIVITY)? {
            Some(bytes) => decode_activity(bytes, what)?,
            None => ActivityLog::new(),
        };
        let split = match f.opt_s(SPLIT)? {
            Some(json) => Some(serde_json::from_str::<AdaptiveStatus>(json).map_err(|e| {
                StoreError::Corrupt {
                    key: what.to_owned(),
                    reason: format!("split: {e}"),
                }
            })?),
            None => None,
        };
        let time = |name| f.opt_n(name).map(|v| v.map(Timestamp::from_millis));
        Ok(Self {
            state: AdaptiveState {
                grants,
                activity,
                last_user_at: time(LAST_USER)?,
                last_background_at: time(LAST_BACKGROUND)?,
                split,
                cooldown_until: time(COOLDOWN)?,
            },
            keep: Duration::from_millis(f.opt_n(WINDOW)?.unwrap_or(0)),
        })
    }

    fn expires_at(&self, now: Timestamp) -> Timestamp {
        let s = &self.state;
        [Some(now), s.grants.last().map(|g| g.at), s.cooldown_until]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(now)
            .saturating_add(self.keep + TTL_MARGIN)
    }
}

/// Reads the flat `[bucket index, count, …]` list [`Stored::encode`] wrote.
fn decode_activity(bytes: &[u8], what: &str) -> StoreResult<ActivityLog> {
    let numbers = packing::unpack_numbers(bytes, what)?;
    let corrupt = || StoreError::Corrupt {
        key: what.to_owned(),
        reason: "malformed activity buckets".to_owned(),
    };
    if numbers.len() % 2 != 0 {
        return Err(corrupt());
    }
    let buckets = numbers
        .chunks_exact(2)
        .map(|pair| Ok((pair[0], u32::try_from(pair[1]).map_err(|_| corrupt())?)))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(ActivityLog::from_buckets(buckets))
}

enum Op {
    Acquire(Priority),
    Record(Priority),
    Cooldown(Timestamp),
    /// Recalculates the split if it is stale (so that `status` reports what all
    /// processes will use).
    Refresh,
}

/// A [`AdaptiveRateLimitStore`] on a DynamoDB table, shared by every process.
#[derive(Clone)]
pub struct DynamoDbAdaptiveRateLimitStore {
    table: Table,
    gate: Arc<Gate>,
    limits: RateLimitConfig,
    adaptive: AdaptiveConfig,
    clock: SharedClock,
    cell: Arc<CasCell<Stored, Op, (Option<Decision>, AdaptiveStatus)>>,
}

impl DynamoDbAdaptiveRateLimitStore {
    /// An adaptive limiter on `table`, with the table configuration's limits, adaptive
    /// settings (checked with [`AdaptiveConfig::validate_for`]) and clock.
    pub fn new(table: &Table) -> StoreResult<Self> {
        let config = table.config();
        config.adaptive().validate_for(config.rate_limits())?;
        Ok(Self::build(
            table,
            config.rate_limits().clone(),
            config.adaptive().clone(),
            Arc::clone(config.clock()),
        ))
    }

    /// A limiter on the same table with other limits (checked against the adaptive
    /// settings like [`new`](Self::new)).
    pub fn with_limits(&self, limits: RateLimitConfig) -> StoreResult<Self> {
        self.adaptive.validate_for(&limits)?;
        Ok(Self::build(
            &self.table,
            limits,
            self.adaptive.clone(),
            Arc::clone(&self.clock),
        ))
    }

    /// A limiter on the same table with other adaptive settings (checked against the
    /// limits like [`new`](Self::new)).
    pub fn with_adaptive(&self, adaptive: AdaptiveConfig) -> StoreResult<Self> {
        adaptive.validate_for(&self.limits)?;
        Ok(Self::build(
            &self.table,
            self.limits.clone(),
            adaptive,
            Arc::clone(&self.clock),
        ))
    }

    /// A limiter on the same table reading time from `clock` (with its own
    /// process-local knowledge, like another process).
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self::build(
            &self.table,
            self.limits.clone(),
            self.adaptive.clone(),
            clock,
        )
    }

    fn build(
        table: &Table,
        limits: RateLimitConfig,
        adaptive: AdaptiveConfig,
        clock: SharedClock,
    ) -> Self {
        let gate = Arc::new(Gate::new("adaptive_rate_limit", table));
        let (l, a) = (limits.clone(), adaptive.clone());
        let cell = CasCell::new(
            table.clone(),
            Arc::clone(&gate.metrics),
            Arc::clone(&clock),
            keys::adaptive_state,
            Arc::new(move |resource: &str, s: &Stored, op: &Op, now| {
                let limit = l.limit_for(resource);
                let keep = limit.window().max(a.monitoring_window);
                let stored = |state| Stored { state, keep };
                match op {
                    Op::Acquire(p) => {
                        let (o, split) = prioritized::try_acquire(&s.state, now, *p, limit, &a);
                        ((Some(o.decision), split), o.new_state.map(stored))
                    }
                    Op::Record(p) => {
                        let mut next = prioritized::record(&s.state, now, *p, limit, &a);
                        let (split, _) = prioritized::current_split(&next, now, limit, &a);
                        next.split = Some(split.clone());
                        ((None, split), Some(stored(next)))
                    }
                    Op::Cooldown(until) => {
                        let (split, _) = prioritized::current_split(&s.state, now, limit, &a);
                        (
                            (None, split),
                            prioritized::cooldown(&s.state, *until).map(stored),
                        )
                    }
                    Op::Refresh => {
                        let (split, fresh) = prioritized::current_split(&s.state, now, limit, &a);
                        let next = fresh.then(|| {
                            stored(AdaptiveState {
                                split: Some(split.clone()),
                                ..s.state.clone()
                            })
                        });
                        ((None, split), next)
                    }
                }
            }),
        );
        Self {
            table: table.clone(),
            gate,
            limits,
            adaptive,
            clock,
            cell: Arc::new(cell),
        }
    }

    crate::resilience::gate_controls!(gate, table);

    /// What a request of `priority` would get now, on the stored state read now (its
    /// split refreshed and stored if stale).
    async fn evaluate(
        &self,
        op: &'static str,
        resource: &str,
        priority: Priority,
    ) -> StoreResult<(Decision, AdaptiveState)> {
        validate::resource(resource)?;
        self.gate
            .run(op, async {
                self.cell.update(resource, Op::Refresh).await?;
                let stored = self.cell.read(resource).await?;
                let limit = self.limits.limit_for(resource);
                let (d, _, _) = prioritized::evaluate(
                    &stored.state,
                    self.clock.now(),
                    priority,
                    limit,
                    &self.adaptive,
                );
                Ok((d, stored.state))
            })
            .await
    }
}

#[async_trait]
impl AdaptiveRateLimitStore for DynamoDbAdaptiveRateLimitStore {
    async fn try_acquire(&self, resource: &str, priority: Priority) -> StoreResult<Decision> {
        validate::resource(resource)?;
        self.gate
            .run("try_acquire", async {
                self.cell
                    .update(resource, Op::Acquire(priority))
                    .await?
                    .0
                    .ok_or_else(|| StoreError::Backend {
                        message: format!("no decision was made for `{resource}`"),
                        source: None,
                    })
            })
            .await
    }

    async fn can_proceed(&self, resource: &str, priority: Priority) -> StoreResult<bool> {
        Ok(self
            .evaluate("can_proceed", resource, priority)
            .await?
            .0
            .granted)
    }

    async fn record(&self, resource: &str, priority: Priority) -> StoreResult<()> {
        validate::resource(resource)?;
        self.gate
            .run("record", async {
                self.cell
                    .update(resource, Op::Record(priority))
                    .await
                    .map(drop)
            })
            .await
    }

    async fn status(&self, resource: &str) -> StoreResult<RateLimitStatus> {
        let (decision, state) = self.evaluate("status", resource, Priority::User).await?;
        let limit = self.limits.limit_for(resource);
        let now = self.clock.now();
        Ok(RateLimitStatus {
            remaining: decision.remaining,
            limit: limit.limit(),
            window: limit.window(),
            reset_at: decision.reset_at,
            cooldown_until: state.cooldown_until.filter(|&c| c > now),
            adaptive: state.split,
        })
    }

    async fn reset(&self, resource: &str) -> StoreResult<()> {
        validate::resource(resource)?;
        self.gate.run("reset", self.cell.remove(resource)).await
    }

    async fn wait_time(&self, resource: &str, priority: Priority) -> StoreResult<Duration> {
        Ok(self.evaluate("wait_time", resource, priority).await?.0.wait)
    }

    async fn cooldown(&self, resource: &str, until: Timestamp) -> StoreResult<()> {
        validate::resource(resource)?;
        self.gate
            .run("cooldown", async {
                self.cell
                    .update(resource, Op::Cooldown(until))
                    .await
                    .map(drop)
            })
            .await
    }
}

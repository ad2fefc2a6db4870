//! [`DynamoDbRateLimitStore`]: the exact sliding-window limiter on DynamoDB.
//!
//! One item per resource (`RATELIMIT#<resource>` / `STATE`) holds the grant times
//! (packed, see `packing`), the cooldown and the window length; updates go through the
//! compare-and-swap cell (see `cas`), which runs the core crate's pure
//! [`window`](comic_vine_store::algorithm::window) algorithm. Requests per decision: a
//! grant is one conditional PutItem (shared by every concurrent grant of the process);
//! a denial on a known state is none; a lost race adds one retry with the item
//! DynamoDB returned, no extra read.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use comic_vine_store::algorithm::window::{self, WindowState};
use comic_vine_store::clock::SharedClock;
use comic_vine_store::{
    Decision, RateLimitConfig, RateLimitStatus, RateLimitStore, StoreError, StoreResult, Timestamp,
    validate,
};

use crate::cas::{CasCell, CasState};
use crate::handle::Table;
use crate::item::{self, Fields, Item};
use crate::keys;
use crate::packing;
use crate::resilience::Gate;

const GRANTS: &str = "G";
const COOLDOWN: &str = "CD";
const WINDOW: &str = "WIN";
/// Items outlive their last grant's window by this much.
const TTL_MARGIN: Duration = Duration::from_secs(60);

/// The stored window of one resource.
#[derive(Clone, Debug, Default)]
struct Stored {
    window: WindowState,
    /// The window length the grants were made under (for the item's TTL).
    span: Duration,
}

impl CasState for Stored {
    fn encode(&self, item: &mut Item) {
        let grants = self.window.grants();
        item.insert(
            GRANTS.to_owned(),
            item::b(packing::pack(grants.iter().map(|&g| (g, 0)))),
        );
        if let Some(until) = self.window.cooldown_until() {
            item.insert(COOLDOWN.to_owned(), item::n(until.as_millis()));
        }
        item.insert(
            WINDOW.to_owned(),
            item::n(comic_vine_store::clock::duration_millis(self.span)),
        );
    }

    fn decode(item: &Item, what: &str) -> StoreResult<Self> {
        let fields = Fields::new(item, what);
        let grants = match fields.opt_b(GRANTS)? {
            Some(bytes) => packing::unpack(bytes, what)?
                .into_iter()
                .map(|(t, _)| t)
                .collect(),
            None => Vec::new(),
        };
        let cooldown = fields.opt_n(COOLDOWN)?.map(Timestamp::from_millis);
        Ok(Self {
            window: WindowState::from_parts(grants, cooldown),
            span: Duration::from_millis(fields.opt_n(WINDOW)?.unwrap_or(0)),
        })
    }

    fn expires_at(&self, now: Timestamp) -> Timestamp {
        let last_grant = self.window.newest().map(|g| g.saturating_add(self.span));
        let cooldown = self.window.cooldown_until();
        [Some(now), last_grant, cooldown]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(now)
            .saturating_add(TTL_MARGIN)
    }
}

/// What a caller asks of a window.
enum Op {
    Acquire,
    Record,
    Cooldown(Timestamp),
}

/// A [`RateLimitStore`] on a DynamoDB table: exact across every process sharing it.
#[derive(Clone)]
pub struct DynamoDbRateLimitStore {
    table: Table,
    gate: Arc<Gate>,
    limits: RateLimitConfig,
    clock: SharedClock,
    cell: Arc<CasCell<Stored, Op, Option<Decision>>>,
}

impl DynamoDbRateLimitStore {
    /// A limiter on `table`, with the table configuration's rate limits and clock.
    pub fn new(table: &Table) -> Self {
        let config = table.config();
        Self::build(
            table,
            config.rate_limits().clone(),
            Arc::clone(config.clock()),
        )
    }

    /// The same limiter (state shared with it) with other limits.
    pub fn with_limits(&self, limits: RateLimitConfig) -> Self {
        Self::build(&self.table, limits, Arc::clone(&self.clock))
    }

    /// A limiter on the same table reading time from `clock` (its own process-local
    /// knowledge of the windows, like another process).
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self::build(&self.table, self.limits.clone(), clock)
    }

    fn build(table: &Table, limits: RateLimitConfig, clock: SharedClock) -> Self {
        let gate = Arc::new(Gate::new("rate_limit", table));
        let decide_limits = limits.clone();
        let cell = CasCell::new(
            table.clone(),
            Arc::clone(&gate.metrics),
            Arc::clone(&clock),
            keys::rate_limit_state,
            Arc::new(move |resource: &str, s: &Stored, op: &Op, now| {
                let limit = decide_limits.limit_for(resource);
                let stored = |window| Stored {
                    window,
                    span: limit.window(),
                };
                match op {
                    Op::Acquire => {
                        let o = window::try_acquire(&s.window, now, limit);
                        (Some(o.decision), o.new_state.map(stored))
                    }
                    Op::Record => (None, Some(stored(window::record(&s.window, now, limit)))),
                    Op::Cooldown(until) => (None, window::cooldown(&s.window, *until).map(stored)),
                }
            }),
        );
        Self {
            table: table.clone(),
            gate,
            limits,
            clock,
            cell: Arc::new(cell),
        }
    }

    crate::resilience::gate_controls!(gate, table);

    /// The decision a request would get now, from the stored state read now.
    async fn evaluate(
        &self,
        op: &'static str,
        resource: &str,
    ) -> StoreResult<(Decision, WindowState)> {
        validate::resource(resource)?;
        self.gate
            .run(op, async {
                let stored = self.cell.read(resource).await?;
                let limit = self.limits.limit_for(resource);
                Ok((
                    window::evaluate(&stored.window, self.clock.now(), limit),
                    stored.window,
                ))
            })
            .await
    }
}

#[async_trait]
impl RateLimitStore for DynamoDbRateLimitStore {
    async fn try_acquire(&self, resource: &str) -> StoreResult<Decision> {
        validate::resource(resource)?;
        self.gate
            .run("try_acquire", async {
                self.cell
                    .update(resource, Op::Acquire)
                    .await?
                    .ok_or_else(|| StoreError::Backend {
                        message: format!("no decision was made for `{resource}`"),
                        source: None,
                    })
            })
            .await
    }

    async fn can_proceed(&self, resource: &str) -> StoreResult<bool> {
        Ok(self.evaluate("can_proceed", resource).await?.0.granted)
    }

    async fn record(&self, resource: &str) -> StoreResult<()> {
        validate::resource(resource)?;
        self.gate
            .run("record", async {
                self.cell.update(resource, Op::Record).await.map(drop)
            })
            .await
    }

    async fn status(&self, resource: &str) -> StoreResult<RateLimitStatus> {
        let (decision, state) = self.evaluate("status", resource).await?;
        let limit = self.limits.limit_for(resource);
        let now = self.clock.now();
        Ok(RateLimitStatus {
            remaining: decision.remaining,
            limit: limit.limit(),
            window: limit.window(),
            reset_at: decision.reset_at,
            cooldown_until: state.cooldown_until().filter(|&c| c > now),
            adaptive: None,
        })
    }

    async fn reset(&self, resource: &str) -> StoreResult<()> {
        validate::resource(resource)?;
        self.gate.run("reset", self.cell.remove(resource)).await
    }

    async fn wait_time(&self, resource: &str) -> StoreResult<Duration> {
        Ok(self.evaluate("wait_time", resource).await?.0.wait)
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

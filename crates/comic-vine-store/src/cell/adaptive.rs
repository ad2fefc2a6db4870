//! [`CellAdaptiveStore`]: the priority-aware limiter over any [`StateCell`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::encoding::{decode_adaptive, encode_adaptive};
use super::on::CellOn;
use super::{Change, StateCell, StateKind, decide};
use crate::adaptive::{AdaptiveRateLimitStore, Priority};
use crate::algorithm::prioritized::{self, AdaptiveState};
use crate::clock::{SharedClock, Timestamp};
use crate::config::{AdaptiveConfig, RateLimit, RateLimitConfig};
use crate::error::StoreResult;
use crate::rate_limit::{Decision, RateLimitStatus};
use crate::validate;

/// A state may be dropped this long after its grants, activity and cooldown stopped
/// mattering.
const TTL_MARGIN: Duration = Duration::from_secs(60);

/// The [`AdaptiveRateLimitStore`] policy, written once: each operation runs
/// [`crate::algorithm::prioritized`] on the resource's state through the cell.
///
/// Every write also stores the split it was decided with (recalculated when stale), so
/// every process sharing the cell uses the same split. `can_proceed`, `wait_time` and
/// `status` decide on the state as stored now, storing a recalculated split.
pub struct CellAdaptiveStore<C: ?Sized> {
    on: CellOn<C>,
    limits: RateLimitConfig,
    adaptive: AdaptiveConfig,
}

impl<C: ?Sized> Clone for CellAdaptiveStore<C> {
    fn clone(&self) -> Self {
        Self {
            on: self.on.clone(),
            limits: self.limits.clone(),
            adaptive: self.adaptive.clone(),
        }
    }
}

/// What a decision is given: the state, the time, the limit and the settings.
struct Ctx<'a> {
    state: &'a AdaptiveState,
    now: Timestamp,
    limit: RateLimit,
    config: &'a AdaptiveConfig,
}

impl<C: StateCell + ?Sized + 'static> CellAdaptiveStore<C> {
    /// An adaptive limiter with `limits` and `adaptive` settings (validated with
    /// [`AdaptiveConfig::validate_for`]) over `cell`, reading time from `clock`.
    pub fn new(
        cell: Arc<C>,
        limits: RateLimitConfig,
        adaptive: AdaptiveConfig,
        clock: SharedClock,
    ) -> StoreResult<Self> {
        adaptive.validate_for(&limits)?;
        Ok(Self {
            on: CellOn { cell, clock },
            limits,
            adaptive,
        })
    }

    /// A handle on the same cell that reads time from `clock`.
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self {
            on: self.on.with_clock(clock),
            ..self.clone()
        }
    }

    /// The cell the states are kept in.
    pub fn cell(&self) -> &Arc<C> {
        &self.on.cell
    }

    /// Runs `f` on the resource's state at the clock's now and stores the state it
    /// returns, if any.
    async fn apply<T: Send + 'static>(
        &self,
        resource: &str,
        f: impl Fn(Ctx<'_>) -> (T, Option<AdaptiveState>) + Send + Sync + 'static,
    ) -> StoreResult<T> {
        validate::resource(resource)?;
        let limit = self.limits.limit_for(resource);
        let config = self.adaptive.clone();
        let now = self.on.clock.now();
        let what = format!("adaptive state {resource}");
        let cell = &*self.on.cell;
        decide(cell, StateKind::Adaptive, resource, move |bytes| {
            let state = match bytes {
                Some(b) => decode_adaptive(b, &what)?,
                None => AdaptiveState::default(),
            };
            let ctx = Ctx {
                state: &state,
                now,
                limit,
                config: &config,
            };
            let (out, next) = f(ctx);
            Ok((out, put(next, now, limit, &config)))
        })
        .await
    }

    /// Reads the resource's state as stored now, so that the next [`apply`](Self::apply)
    /// decides on it (not on one this process remembers).
    async fn load(&self, resource: &str) -> StoreResult<()> {
        validate::resource(resource)?;
        self.on.cell.load(StateKind::Adaptive, resource).await?;
        Ok(())
    }

    async fn evaluate(&self, resource: &str, priority: Priority) -> StoreResult<Decision> {
        self.load(resource).await?;
        self.apply(resource, move |c| {
            let (d, split, recalculated) =
                prioritized::evaluate(c.state, c.now, priority, c.limit, c.config);
            (d, with_split(c.state, split, recalculated))
        })
        .await
    }
}

/// The state with a recalculated split, to store; `None` if the split was fresh.
fn with_split(
    state: &AdaptiveState,
    split: crate::adaptive::AdaptiveStatus,
    recalculated: bool,
) -> Option<AdaptiveState> {
    recalculated.then(|| AdaptiveState {
        split: Some(split),
        ..state.clone()
    })
}

/// The change storing `next` (if any), with the time after which it no longer matters.
fn put(
    next: Option<AdaptiveState>,
    now: Timestamp,
    limit: RateLimit,
    a: &AdaptiveConfig,
) -> Change {
    let Some(s) = next else {
        return Change::Keep;
    };
    let keep = limit.window().max(a.monitoring_window);
    let expires_at = [Some(now), s.grants.last().map(|g| g.at), s.cooldown_until]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(now)
        .saturating_add(keep + TTL_MARGIN);
    Change::Put {
        state: encode_adaptive(&s),
        expires_at,
    }
}

#[async_trait]
impl<C: StateCell + ?Sized + 'static> AdaptiveRateLimitStore for CellAdaptiveStore<C> {
    async fn try_acquire(&self, resource: &str, priority: Priority) -> StoreResult<Decision> {
        self.apply(resource, move |c| {
            let (o, _) = prioritized::try_acquire(c.state, c.now, priority, c.limit, c.config);
            (o.decision, o.new_state)
        })
        .await
    }

    async fn can_proceed(&self, resource: &str, priority: Priority) -> StoreResult<bool> {
        Ok(self.evaluate(resource, priority).await?.granted)
    }

    /// Counts the request, then stores the split in force on the new state
    /// (recalculated, with this request's activity, if it was stale).
    async fn record(&self, resource: &str, priority: Priority) -> StoreResult<()> {
        self.apply(resource, move |c| {
            let mut next = prioritized::record(c.state, c.now, priority, c.limit, c.config);
            let (split, _) = prioritized::current_split(&next, c.now, c.limit, c.config);
            next.split = Some(split);
            ((), Some(next))
        })
        .await
    }

    async fn status(&self, resource: &str) -> StoreResult<RateLimitStatus> {
        self.load(resource).await?;
        self.apply(resource, |c| {
            let (d, split, recalculated) =
                prioritized::evaluate(c.state, c.now, Priority::User, c.limit, c.config);
            let status = RateLimitStatus {
                remaining: d.remaining,
                limit: c.limit.limit(),
                window: c.limit.window(),
                reset_at: d.reset_at,
                cooldown_until: c.state.cooldown_until.filter(|&u| u > c.now),
                adaptive: Some(split.clone()),
            };
            (status, with_split(c.state, split, recalculated))
        })
        .await
    }

    async fn reset(&self, resource: &str) -> StoreResult<()> {
        validate::resource(resource)?;
        self.on.cell.remove(StateKind::Adaptive, resource).await
    }

    async fn wait_time(&self, resource: &str, priority: Priority) -> StoreResult<Duration> {
        Ok(self.evaluate(resource, priority).await?.wait)
    }

    async fn cooldown(&self, resource: &str, until: Timestamp) -> StoreResult<()> {
        self.apply(resource, move |c| {
            ((), prioritized::cooldown(c.state, until))
        })
        .await
    }
}

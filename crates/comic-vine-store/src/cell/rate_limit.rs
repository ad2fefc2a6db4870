//! [`CellRateLimitStore`]: the sliding-window limiter over any [`StateCell`].
//!
//! Each resource's window is in the form its limit calls for
//! ([`crate::algorithm::window_form`]): the exact log while it fits one small item,
//! else the bounded bucketed window, so a grant stays one small write at any limit.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::encoding::{decode_window_form, encode_window_form};
use super::on::CellOn;
use super::{Change, StateCell, StateKind, decide};
use crate::algorithm::window_form::{self as window, WindowForm};
use crate::clock::{SharedClock, Timestamp};
use crate::config::{RateLimit, RateLimitConfig};
use crate::error::StoreResult;
use crate::rate_limit::{Decision, RateLimitStatus, RateLimitStore};
use crate::validate;

/// A window's state may be dropped this long after its last grant left the window
/// (and its cooldown ended).
const TTL_MARGIN: Duration = Duration::from_secs(60);

/// The [`RateLimitStore`] policy, written once: each operation runs
/// [`crate::algorithm::window_form`] on the resource's state through the cell.
///
/// Requests per operation are the cell's: on DynamoDB a grant is one conditional
/// write and a denial on a known state none; `can_proceed`, `wait_time` and `status`
/// read the state as stored now.
pub struct CellRateLimitStore<C: ?Sized> {
    on: CellOn<C>,
    limits: RateLimitConfig,
}

impl<C: ?Sized> Clone for CellRateLimitStore<C> {
    fn clone(&self) -> Self {
        Self {
            on: self.on.clone(),
            limits: self.limits.clone(),
        }
    }
}

impl<C: StateCell + ?Sized + 'static> CellRateLimitStore<C> {
    /// A limiter with `limits` over `cell`, reading time from `clock`.
    pub fn new(cell: Arc<C>, limits: RateLimitConfig, clock: SharedClock) -> Self {
        Self {
            on: CellOn { cell, clock },
            limits,
        }
    }

    /// A handle on the same cell that reads time from `clock`.
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self {
            on: self.on.with_clock(clock),
            ..self.clone()
        }
    }

    /// A handle on the same cell with other limits.
    pub fn with_limits(&self, limits: RateLimitConfig) -> Self {
        Self {
            limits,
            ..self.clone()
        }
    }

    /// The cell the states are kept in.
    pub fn cell(&self) -> &Arc<C> {
        &self.on.cell
    }

    /// The limits in force.
    pub fn limits(&self) -> &RateLimitConfig {
        &self.limits
    }

    /// Runs `f` on the resource's window at the clock's now and stores the window it
    /// returns, if any.
    async fn apply<T: Send + 'static>(
        &self,
        resource: &str,
        f: impl Fn(&WindowForm, Timestamp, RateLimit) -> (T, Option<WindowForm>) + Send + Sync + 'static,
    ) -> StoreResult<T> {
        validate::resource(resource)?;
        let limit = self.limits.limit_for(resource);
        let now = self.on.clock.now();
        let what = format!("rate-limit window {resource}");
        decide(&*self.on.cell, StateKind::Window, resource, move |bytes| {
            let state = decode(bytes, &what, limit)?;
            let (out, next) = f(&state, now, limit);
            Ok((out, put(next, now, limit)))
        })
        .await
    }

    /// The resource's window as stored now, the time and the limit.
    async fn current(&self, resource: &str) -> StoreResult<(WindowForm, Timestamp, RateLimit)> {
        validate::resource(resource)?;
        let bytes = self.on.cell.load(StateKind::Window, resource).await?;
        let limit = self.limits.limit_for(resource);
        let what = format!("rate-limit window {resource}");
        let state = decode(bytes.as_deref(), &what, limit)?;
        Ok((state, self.on.clock.now(), limit))
    }

    async fn evaluate(&self, resource: &str) -> StoreResult<Decision> {
        let (state, now, limit) = self.current(resource).await?;
        Ok(window::evaluate(&state, now, limit))
    }
}

fn decode(bytes: Option<&[u8]>, what: &str, limit: RateLimit) -> StoreResult<WindowForm> {
    bytes.map_or_else(
        || Ok(WindowForm::empty(limit)),
        |b| decode_window_form(b, what),
    )
}

/// The change storing `next` (if any), with the time after which it no longer matters.
fn put(next: Option<WindowForm>, now: Timestamp, limit: RateLimit) -> Change {
    let Some(state) = next else {
        return Change::Keep;
    };
    // A bucket is counted until its end leaves the window: up to one bucket longer.
    let counted_for = match &state {
        WindowForm::Log(_) => limit.window(),
        WindowForm::Buckets(b) => limit.window() + Duration::from_millis(b.width()),
    };
    let last_grant = state.newest().map(|g| g.saturating_add(counted_for));
    let expires_at = [Some(now), last_grant, state.cooldown_until()]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(now)
        .saturating_add(TTL_MARGIN);
    Change::Put {
        state: encode_window_form(&state),
        expires_at,
    }
}

#[async_trait]
impl<C: StateCell + ?Sized + 'static> RateLimitStore for CellRateLimitStore<C> {
    async fn try_acquire(&self, resource: &str) -> StoreResult<Decision> {
        self.apply(resource, |s, now, limit| {
            let o = window::try_acquire(s, now, limit);
            (o.decision, o.new_state)
        })
        .await
    }

    async fn can_proceed(&self, resource: &str) -> StoreResult<bool> {
        Ok(self.evaluate(resource).await?.granted)
    }

    async fn record(&self, resource: &str) -> StoreResult<()> {
        self.apply(resource, |s, now, limit| {
            ((), Some(window::record(s, now, limit)))
        })
        .await
    }

    async fn status(&self, resource: &str) -> StoreResult<RateLimitStatus> {
        let (state, now, limit) = self.current(resource).await?;
        let d = window::evaluate(&state, now, limit);
        Ok(RateLimitStatus {
            remaining: d.remaining,
            limit: limit.limit(),
            window: limit.window(),
            reset_at: d.reset_at,
            cooldown_until: state.cooldown_until().filter(|&c| c > now),
            adaptive: None,
        })
    }

    async fn reset(&self, resource: &str) -> StoreResult<()> {
        validate::resource(resource)?;
        self.on.cell.remove(StateKind::Window, resource).await
    }

    async fn wait_time(&self, resource: &str) -> StoreResult<Duration> {
        Ok(self.evaluate(resource).await?.wait)
    }

    async fn cooldown(&self, resource: &str, until: Timestamp) -> StoreResult<()> {
        self.apply(resource, move |s, _, _| ((), window::cooldown(s, until)))
            .await
    }
}

//! Pieces every rate-limit algorithm builds its [`Decision`] from: the decision before
//! counting, the decision once counted, and the cooldown checks.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::config::RateLimit;
use crate::rate_limit::Decision;

impl Decision {
    /// The decision before anything is counted: granted when `wait` is zero, with
    /// `free` slots remaining (saturated to `u32`).
    pub(crate) fn uncounted(
        free: impl TryInto<u32>,
        limit: RateLimit,
        reset_at: Timestamp,
        wait: Duration,
    ) -> Self {
        Self {
            granted: wait.is_zero(),
            remaining: free.try_into().unwrap_or(u32::MAX),
            limit: limit.limit(),
            reset_at,
            wait,
            granted_at: None,
        }
    }

    /// This granted decision once its request is counted at `at`: one slot fewer.
    pub(crate) fn counted(self, at: Option<Timestamp>) -> Self {
        Self {
            remaining: self.remaining.saturating_sub(1),
            granted_at: at,
            ..self
        }
    }
}

/// How long the cooldown in force at `now` still lasts; `None` when there is none.
pub(crate) fn cooldown_wait(cooldown_until: Option<Timestamp>, now: Timestamp) -> Option<Duration> {
    cooldown_until
        .filter(|&until| until > now)
        .map(|until| until.saturating_duration_since(now))
}

/// Whether a cooldown until `until` lengthens the one set (`current`): a shorter or
/// equal one changes nothing.
pub(crate) fn lengthens_cooldown(current: Option<Timestamp>, until: Timestamp) -> bool {
    current.is_none_or(|current| current < until)
}

//! The circuit breaker: a small state machine on the injectable clock.
//!
//! Closed → open after `failure_threshold` consecutive severe failures (see
//! [`StoreError::is_severe`]) → after `recovery_timeout`, half-open: one trial call goes
//! through while every other call still fails fast → closed on its success, open again
//! on its failure. A call that gets any non-severe answer proves the backend is up and
//! counts as a success.

use std::sync::Mutex;
use std::time::Duration;

use comic_vine_store::clock::SharedClock;
use comic_vine_store::{StoreError, Timestamp};
use serde::Serialize;

use crate::config::CircuitBreakerConfig;

/// The breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// Calls fail at once.
    Open,
    /// One trial call may go through.
    HalfOpen,
}

/// What `circuit_status()` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CircuitStatus {
    /// The state now.
    pub state: CircuitState,
    /// Consecutive severe failures.
    pub failures: u32,
    /// When the last severe failure happened.
    pub last_failure: Option<Timestamp>,
    /// When an open breaker lets a trial call through.
    pub next_attempt: Option<Timestamp>,
}

#[derive(Debug, Default)]
struct Inner {
    failures: u32,
    last_failure: Option<Timestamp>,
    opened_at: Option<Timestamp>,
    trial_in_flight: bool,
}

/// A circuit breaker (a disabled one lets everything through).
#[derive(Debug)]
pub(crate) struct Breaker {
    config: CircuitBreakerConfig,
    clock: SharedClock,
    inner: Mutex<Inner>,
}

impl Breaker {
    pub(crate) fn new(config: CircuitBreakerConfig, clock: SharedClock) -> Self {
        Self {
            config,
            clock,
            inner: Mutex::default(),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a call, or refuses it with [`StoreError::CircuitBreakerOpen`].
    pub(crate) fn admit(&self) -> Result<(), StoreError> {
        if !self.config.enabled {
            return Ok(());
        }
        let now = self.clock.now();
        let mut inner = self.inner();
        let Some(opened_at) = inner.opened_at else {
            return Ok(());
        };
        let next_attempt = opened_at.saturating_add(self.config.recovery_timeout);
        if now >= next_attempt && !inner.trial_in_flight {
            inner.trial_in_flight = true;
            return Ok(());
        }
        Err(StoreError::CircuitBreakerOpen {
            retry_after: next_attempt
                .saturating_duration_since(now)
                .max(Duration::from_millis(1)),
        })
    }

    /// Records how an admitted call ended; returns the state it moved to (`"open"` or
    /// `"closed"`), if it moved.
    pub(crate) fn record<T>(&self, result: &Result<T, StoreError>) -> Option<&'static str> {
        if !self.config.enabled {
            return None;
        }
        let mut inner = self.inner();
        let was_trial = std::mem::take(&mut inner.trial_in_flight);
        match result {
            Err(e) if e.is_severe() => {
                inner.failures = inner.failures.saturating_add(1);
                let now = self.clock.now();
                inner.last_failure = Some(now);
                if was_trial || inner.failures >= self.config.failure_threshold {
                    let opens = inner.opened_at.is_none() || was_trial;
                    inner.opened_at = Some(now);
                    if opens {
                        tracing::warn!(failures = inner.failures, "circuit breaker opened");
                        return Some("open");
                    }
                }
                None
            }
            _ => {
                inner.failures = 0;
                if inner.opened_at.take().is_some() {
                    tracing::info!("circuit breaker closed");
                    return Some("closed");
                }
                None
            }
        }
    }

    /// The state now.
    pub(crate) fn status(&self) -> CircuitStatus {
        let now = self.clock.now();
        let inner = self.inner();
        let next_attempt = inner
            .opened_at
            .map(|o| o.saturating_add(self.config.recovery_timeout));
        let state = match next_attempt {
            None => CircuitState::Closed,
            Some(at) if now >= at => CircuitState::HalfOpen,
            Some(_) => CircuitState::Open,
        };
        CircuitStatus {
            state,
            failures: inner.failures,
            last_failure: inner.last_failure,
            next_attempt,
        }
    }

    /// Closes the breaker and forgets the failures.
    pub(crate) fn reset(&self) {
        *self.inner() = Inner::default();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use comic_vine_store::ManualClock;

    use super::*;

    /// A breaker opening after 3 failures for 60 s, on a manual clock at `secs`.
    fn breaker_at(secs: u64) -> (ManualClock, Breaker) {
        let clock = ManualClock::new(Timestamp::from_secs(secs));
        let config = CircuitBreakerConfig {
            enabled: true,
            failure_threshold: 3,
            recovery_timeout: Duration::from_secs(60),
        };
        let breaker = Breaker::new(config, Arc::new(clock.clone()));
        (clock, breaker)
    }

    fn unavailable() -> Result<(), StoreError> {
        Err(StoreError::Unavailable {
            message: "503".into(),
            source: None,
        })
    }

    fn fail(b: &Breaker) {
        b.admit().unwrap();
        b.record(&unavailable());
    }

    #[test]
    fn opens_after_consecutive_severe_failures_then_fails_fast() {
        let (clock, b) = breaker_at(1_000);
        fail(&b);
        fail(&b);
        assert_eq!(b.status().state, CircuitState::Closed);
        fail(&b);
        let s = b.status();
        assert_eq!((s.state, s.failures), (CircuitState::Open, 3));
        assert_eq!(s.next_attempt, Some(Timestamp::from_secs(1_060)));
        clock.advance(Duration::from_secs(10));
        match b.admit() {
            Err(StoreError::CircuitBreakerOpen { retry_after }) => {
                assert_eq!(retry_after, Duration::from_secs(50))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn half_open_lets_one_trial_through() {
        let (clock, b) = breaker_at(0);
        (0..3).for_each(|_| fail(&b));
        clock.advance(Duration::from_secs(60));
        assert_eq!(b.status().state, CircuitState::HalfOpen);
        b.admit().unwrap();
        assert!(b.admit().is_err(), "only one trial at a time");
        // The trial fails: open again for a full recovery timeout.
        b.record(&unavailable());
        assert_eq!(b.status().state, CircuitState::Open);
        assert_eq!(b.status().next_attempt, Some(Timestamp::from_secs(120)));
        clock.advance(Duration::from_secs(60));
        b.admit().unwrap();
        b.record(&Ok(()));
        let s = b.status();
        assert_eq!((s.state, s.failures), (CircuitState::Closed, 0));
        b.admit().unwrap();
    }

    #[test]
    fn answers_about_the_request_do_not_count() {
        let (_clock, b) = breaker_at(0);
        fail(&b);
        fail(&b);
        b.admit().unwrap();
        b.record::<()>(&Err(StoreError::invalid_input("hash", "empty")));
        fail(&b);
        assert_eq!(
            b.status().state,
            CircuitState::Closed,
            "the streak was broken"
        );
        let throttled = Err::<(), _>(StoreError::Throttled {
            message: "x".into(),
            source: None,
        });
        b.admit().unwrap();
        b.record(&throttled);
        b.admit().unwrap();
        b.record(&throttled);
        assert_eq!(b.status().state, CircuitState::Open, "throttling is severe");
        b.reset();
        assert_eq!(b.status().state, CircuitState::Closed);
    }

    #[test]
    fn a_disabled_breaker_never_opens() {
        let clock = ManualClock::new(Timestamp::from_secs(0));
        let b = Breaker::new(
            CircuitBreakerConfig {
                enabled: false,
                ..CircuitBreakerConfig::default()
            },
            Arc::new(clock),
        );
        (0..20).for_each(|_| fail(&b));
        assert!(b.admit().is_ok());
    }
}

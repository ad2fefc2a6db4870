//! Upstream retries for GET: transport errors, 5xx and 429 (after its `Retry-After`),
//! with exponential backoff and full jitter, bounded by attempts and by a deadline,
//! every attempt through the caller's rate-limit hook.
//!
//! Hand-written (about 60 lines) rather than `backon`/`backoff`: `backon`'s jitter adds
//! a random part on top of the exponential delay instead of drawing the whole delay
//! ("full jitter"), and the per-attempt rate-limit hook, `Retry-After` and the deadline
//! decide the loop anyway.

use std::future::Future;
use std::time::{Duration, SystemTime};

use http::StatusCode;
use tokio::time::Instant;

use crate::UpstreamResponse;
use crate::retry_after::retry_after;

/// How upstream calls are retried.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: no retries).
    pub max_attempts: u32,
    /// The backoff before the second attempt is drawn from `0..=base`, then doubling.
    pub base: Duration,
    /// The longest backoff drawn.
    pub max_backoff: Duration,
    /// The longest `Retry-After` waited out; a longer one ends the retries.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, backoff 200 ms doubling up to 10 s, `Retry-After` up to 60 s.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt.
    pub fn none() -> Self {
        Self::default().max_attempts(1)
    }

    /// Sets [`max_attempts`](Self::max_attempts) (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Sets [`base`](Self::base) and [`max_backoff`](Self::max_backoff).
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        (self.base, self.max_backoff) = (base, max);
        self
    }

    /// Sets [`max_retry_after`](Self::max_retry_after).
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The full-jitter backoff after failed attempt `n` (1-based): uniform in
    /// `0..=min(max_backoff, base · 2^(n-1))`.
    pub fn backoff_after(&self, n: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX))
            .min(self.max_backoff);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

/// What came of [`send_with_retries`].
#[derive(Debug)]
pub struct Retried<R, E, L> {
    /// The last attempt's answer or error; `Err(Limited)` if the rate-limit hook
    /// refused an attempt (the previous attempt's answer is then dropped).
    pub result: Result<Result<R, E>, Limited<L>>,
    /// Attempts sent upstream.
    pub attempts: u32,
}

/// The rate-limit hook refused an attempt.
#[derive(Debug)]
pub struct Limited<L>(pub L);

/// Whether an answer is worth another attempt, and after how long at least.
fn retryable<R: UpstreamResponse, E>(result: &Result<R, E>) -> Option<Option<Duration>> {
    match result {
        Err(_) => Some(None),
        Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS || r.status().is_server_error() => {
            Some(retry_after(r.headers(), SystemTime::now()))
        }
        Ok(_) => None,
    }
}

/// Sends with `send` until an answer is not retryable (anything but a transport error,
/// a 5xx or a 429), `policy`'s attempts are used up, or the next wait would end after
/// `deadline`. Before every attempt, `acquire` (the rate limiter) must grant it. Between
/// attempts: the answer's `Retry-After` (seconds or date) when it sends one, else the
/// full-jitter backoff. The last answer is returned as it is (e.g. the final 503).
pub async fn send_with_retries<R, E, L, A, AFut, S, SFut>(
    policy: &RetryPolicy,
    deadline: Option<Instant>,
    mut acquire: A,
    mut send: S,
) -> Retried<R, E, L>
where
    R: UpstreamResponse,
    A: FnMut() -> AFut,
    AFut: Future<Output = Result<(), L>>,
    S: FnMut() -> SFut,
    SFut: Future<Output = Result<R, E>>,
{
    let mut attempts = 0;
    loop {
        if let Err(refused) = acquire().await {
            return Retried {
                result: Err(Limited(refused)),
                attempts,
            };
        }
        attempts += 1;
        let result = send().await;
        let done = |result| Retried {
            result: Ok(result),
            attempts,
        };
        let Some(asked) = retryable(&result) else {
            return done(result);
        };
        if attempts >= policy.max_attempts.max(1) {
            return done(result);
        }
        let wait = match asked {
            Some(wait) if wait > policy.max_retry_after => return done(result),
            Some(wait) => wait,
            None => policy.backoff_after(attempts),
        };
        if deadline.is_some_and(|d| Instant::now().checked_add(wait).is_none_or(|t| t >= d)) {
            tracing::debug!(attempts, ?wait, "not retrying past the deadline");
            return done(result);
        }
        tracing::debug!(attempts, ?wait, "retrying upstream");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn backoff_is_full_jitter_under_the_doubling_ceiling(
            n in 0u32..80, base_ms in 0u64..10_000, max_ms in 0u64..100_000,
        ) {
            let p = RetryPolicy::default()
                .backoff(Duration::from_millis(base_ms), Duration::from_millis(max_ms));
            let ceiling = Duration::from_millis(base_ms)
                .saturating_mul(2u32.saturating_pow(n.saturating_sub(1)))
                .min(Duration::from_millis(max_ms));
            prop_assert!(p.backoff_after(n) <= ceiling);
        }
    }

    #[test]
    fn backoff_draws_spread_over_the_range() {
        let p = RetryPolicy::default().backoff(Duration::from_secs(1), Duration::from_secs(1));
        let draws: Vec<Duration> = (0..200).map(|_| p.backoff_after(1)).collect();
        assert!(
            draws.iter().any(|d| *d < Duration::from_millis(250)),
            "{draws:?}"
        );
        assert!(
            draws.iter().any(|d| *d > Duration::from_millis(750)),
            "{draws:?}"
        );
    }
}

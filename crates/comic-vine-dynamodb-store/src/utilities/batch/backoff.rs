//! Exponential backoff with jitter, for retrying what a batch write left undone
//! ([`Backoff::retry`]).

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::BuildHasher;
use std::time::Duration;

use comic_vine_store::{StoreError, StoreResult};

/// Exponential backoff with jitter for the unprocessed items of one batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// Requests sent per batch at most (the first one included).
    pub(crate) max_attempts: u32,
    /// The longest wait before the first retry.
    pub(crate) base_delay: Duration,
    /// The longest wait before any retry.
    pub(crate) max_delay: Duration,
}

impl Backoff {
    /// 8 attempts, waiting up to 50 ms, 100 ms, … 2 s between them.
    pub(crate) const DEFAULT: Self = Self {
        max_attempts: 8,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_secs(2),
    };

    /// The longest wait before retry `retry` (1 for the first):
    /// `base_delay × 2^(retry − 1)`, at most `max_delay`.
    pub(crate) fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The wait before retry `retry`, for `unit` drawn uniformly from `[0, 1)`: in the
    /// upper half of the ceiling ("equal jitter"), so that writers throttled together
    /// spread out while each still backs off.
    pub(crate) fn delay(&self, retry: u32, unit: f64) -> Duration {
        let half = self.ceiling(retry) / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// Calls `send` with `writes`, then again with what it leaves unprocessed, waiting
    /// a [`delay`](Self::delay) in between, for at most `max_attempts` calls.
    ///
    /// `Err` hands back what is still unwritten: all that was sent when a call fails
    /// (with its error), or what is still unprocessed after the last call
    /// ([`StoreError::Throttled`], naming `what` was called).
    pub(crate) async fn retry<T, F, Fut>(
        &self,
        what: &str,
        writes: Vec<T>,
        mut send: F,
    ) -> Result<(), (Vec<T>, StoreError)>
    where
        T: Clone,
        F: FnMut(Vec<T>) -> Fut,
        Fut: Future<Output = StoreResult<Vec<T>>>,
    {
        let mut pending = writes;
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            pending = match send(pending.clone()).await {
                Ok(unprocessed) => unprocessed,
                Err(error) => return Err((pending, error)),
            };
            if pending.is_empty() {
                break;
            }
            if attempt >= self.max_attempts {
                let error = StoreError::Throttled {
                    message: format!(
                        "{what} left {} writes unprocessed after {attempt} attempts",
                        pending.len()
                    ),
                    source: None,
                };
                return Err((pending, error));
            }
            tokio::time::sleep(self.delay(attempt, unit_random())).await;
        }
        Ok(())
    }
}

/// A number drawn uniformly from `[0, 1)`. Every `RandomState` has fresh random keys,
/// which is all jitter needs.
pub(crate) fn unit_random() -> f64 {
    let bits = RandomState::new().hash_one(0u8) >> 11; // 53 random bits
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_with_jitter_in_the_upper_half() {
        let b = Backoff {
            max_attempts: 10,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
        };
        let ceilings: Vec<u128> = (1..=6).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [50, 100, 200, 400, 500, 500]);
        assert_eq!(b.delay(3, 0.0), Duration::from_millis(100));
        assert_eq!(b.delay(3, 0.5), Duration::from_millis(150));
        assert!(b.delay(3, 0.999_999) < Duration::from_millis(200));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_millis(500));
        for _ in 0..1_000 {
            let unit = unit_random();
            assert!((0.0..1.0).contains(&unit));
            let d = b.delay(2, unit);
            assert!(d >= Duration::from_millis(50) && d < Duration::from_millis(100));
        }
    }

    #[test]
    fn jitter_varies() {
        let draws: std::collections::HashSet<u64> =
            (0..20).map(|_| unit_random().to_bits()).collect();
        assert!(draws.len() > 1);
    }
}

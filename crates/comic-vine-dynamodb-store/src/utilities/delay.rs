//! [`AdaptiveDelayCalculator`]: a pause between requests that follows throttling.

use std::time::Duration;

use comic_vine_store::{StoreError, StoreResult};

/// A delay between requests that grows when DynamoDB throttles and shrinks while
/// requests succeed (multiplicative increase, gentle decrease).
///
/// The policy, applied by the caller reporting each outcome:
///
/// - [`on_throttle`](Self::on_throttle): the delay doubles, and is at least `base` (so a
///   delay that had shrunk to nothing jumps straight back to `base`); never above `max`.
/// - [`on_success`](Self::on_success): the delay loses a quarter (×0.75, and at least a
///   nanosecond); never below `min`.
/// - [`reset`](Self::reset): back to `base`.
///
/// It only computes: it reads no clock and sleeps nowhere, so the caller decides when
/// (and whether) to wait [`current`](Self::current).
///
/// ```
/// use std::time::Duration;
/// use comic_vine_dynamodb_store::AdaptiveDelayCalculator;
///
/// let ms = Duration::from_millis;
/// let mut delay = AdaptiveDelayCalculator::new(ms(100), ms(10), ms(1_000))?;
/// assert_eq!(delay.current(), ms(100));
/// assert_eq!(delay.on_throttle(), ms(200));
/// assert_eq!(delay.on_throttle(), ms(400));
/// assert_eq!(delay.on_success(), ms(300));
/// # Ok::<(), comic_vine_store::StoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdaptiveDelayCalculator {
    base: Duration,
    min: Duration,
    max: Duration,
    current: Duration,
}

impl AdaptiveDelayCalculator {
    /// A calculator starting at `base`, kept within `min..=max`.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidConfig`] unless `min <= base <= max` and `base` is above
    /// zero (a zero delay could never grow by doubling).
    ///
    /// ```
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::AdaptiveDelayCalculator;
    ///
    /// let s = Duration::from_secs;
    /// assert!(AdaptiveDelayCalculator::new(s(1), s(0), s(30)).is_ok());
    /// assert!(AdaptiveDelayCalculator::new(s(60), s(0), s(30)).is_err()); // base > max
    /// ```
    pub fn new(base: Duration, min: Duration, max: Duration) -> StoreResult<Self> {
        if base.is_zero() {
            return Err(StoreError::invalid_config(
                "adaptive_delay.base",
                "must be above zero",
            ));
        }
        if min > base || base > max {
            return Err(StoreError::invalid_config(
                "adaptive_delay",
                format!("expected min <= base <= max, got {min:?}, {base:?}, {max:?}"),
            ));
        }
        Ok(Self {
            base,
            min,
            max,
            current: base,
        })
    }

    /// The delay to wait before the next request.
    ///
    /// ```
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::AdaptiveDelayCalculator;
    ///
    /// let ms = Duration::from_millis;
    /// let delay = AdaptiveDelayCalculator::new(ms(50), ms(0), ms(500))?;
    /// assert_eq!(delay.current(), ms(50));
    /// # Ok::<(), comic_vine_store::StoreError>(())
    /// ```
    pub fn current(&self) -> Duration {
        self.current
    }

    /// Records a throttled request: doubles the delay (at least `base`, at most `max`)
    /// and returns it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::AdaptiveDelayCalculator;
    ///
    /// let ms = Duration::from_millis;
    /// let mut delay = AdaptiveDelayCalculator::new(ms(300), ms(0), ms(1_000))?;
    /// assert_eq!(delay.on_throttle(), ms(600));
    /// assert_eq!(delay.on_throttle(), ms(1_000)); // capped
    /// # Ok::<(), comic_vine_store::StoreError>(())
    /// ```
    pub fn on_throttle(&mut self) -> Duration {
        self.current = self.current.saturating_mul(2).max(self.base).min(self.max);
        self.current
    }

    /// Records a successful request: takes a quarter off the delay (at least `min`) and
    /// returns it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::AdaptiveDelayCalculator;
    ///
    /// let ms = Duration::from_millis;
    /// let mut delay = AdaptiveDelayCalculator::new(ms(100), ms(60), ms(1_000))?;
    /// assert_eq!(delay.on_success(), ms(75));
    /// assert_eq!(delay.on_success(), ms(60)); // floored
    /// # Ok::<(), comic_vine_store::StoreError>(())
    /// ```
    pub fn on_success(&mut self) -> Duration {
        // At least a nanosecond comes off, so that a tiny delay still reaches `min`.
        let cut = (self.current / 4).max(Duration::from_nanos(1));
        self.current = self.current.saturating_sub(cut).max(self.min);
        self.current
    }

    /// Goes back to the base delay.
    ///
    /// ```
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::AdaptiveDelayCalculator;
    ///
    /// let ms = Duration::from_millis;
    /// let mut delay = AdaptiveDelayCalculator::new(ms(100), ms(0), ms(1_000))?;
    /// delay.on_throttle();
    /// delay.reset();
    /// assert_eq!(delay.current(), ms(100));
    /// # Ok::<(), comic_vine_store::StoreError>(())
    /// ```
    pub fn reset(&mut self) {
        self.current = self.base;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The delays after each of `n` calls of `step` on a calculator of (base, min, max)
    /// `bounds` in milliseconds.
    fn steps(
        (base, min, max): (u64, u64, u64),
        n: usize,
        step: fn(&mut AdaptiveDelayCalculator) -> Duration,
    ) -> Vec<Duration> {
        let mut d = AdaptiveDelayCalculator::new(ms(base), ms(min), ms(max)).unwrap();
        (0..n).map(|_| step(&mut d)).collect()
    }

    #[test]
    fn rejects_bounds_out_of_order_and_a_zero_base() {
        for (base, min, max) in [
            (ms(0), ms(0), ms(10)),
            (ms(5), ms(6), ms(10)),
            (ms(11), ms(0), ms(10)),
        ] {
            let err = AdaptiveDelayCalculator::new(base, min, max).unwrap_err();
            assert!(matches!(err, StoreError::InvalidConfig { .. }), "{err}");
        }
        assert!(AdaptiveDelayCalculator::new(ms(10), ms(10), ms(10)).is_ok());
    }

    #[test]
    fn throttling_doubles_up_to_the_maximum() {
        let grown = steps((100, 10, 1_000), 6, AdaptiveDelayCalculator::on_throttle);
        let doubled = [ms(200), ms(400), ms(800), ms(1_000), ms(1_000), ms(1_000)];
        assert_eq!(grown, doubled);
    }

    #[test]
    fn success_shrinks_by_a_quarter_down_to_the_minimum() {
        let shrunk = steps((800, 300, 1_000), 5, AdaptiveDelayCalculator::on_success);
        assert_eq!(
            shrunk,
            [
                ms(600),
                ms(450),
                Duration::from_micros(337_500),
                ms(300),
                ms(300)
            ]
        );
    }

    #[test]
    fn a_throttle_after_shrinking_to_nothing_restarts_at_base() {
        let mut d = AdaptiveDelayCalculator::new(ms(40), ms(0), ms(1_000)).unwrap();
        for _ in 0..200 {
            d.on_success();
        }
        assert_eq!(d.current(), Duration::ZERO);
        assert_eq!(d.on_throttle(), ms(40));
        assert_eq!(d.on_throttle(), ms(80));
    }

    #[test]
    fn mixed_sequence_stays_within_bounds() {
        let mut d = AdaptiveDelayCalculator::new(ms(50), ms(20), ms(300)).unwrap();
        let steps = [
            true, true, false, true, true, true, false, false, false, false,
        ];
        let seen: Vec<_> = steps
            .iter()
            .map(|&throttled| {
                if throttled {
                    d.on_throttle()
                } else {
                    d.on_success()
                }
            })
            .collect();
        assert_eq!(
            seen,
            [
                ms(100),
                ms(200),
                ms(150),
                ms(300),
                ms(300),
                ms(300),
                ms(225),
                Duration::from_micros(168_750),
                Duration::from_nanos(126_562_500),
                Duration::from_nanos(94_921_875),
            ]
        );
        assert!(seen.iter().all(|&s| (ms(20)..=ms(300)).contains(&s)));
        d.reset();
        assert_eq!(d.current(), ms(50));
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        let mut d = AdaptiveDelayCalculator::new(ms(1), ms(0), Duration::MAX).unwrap();
        for _ in 0..200 {
            d.on_throttle();
        }
        assert_eq!(d.current(), Duration::MAX);
    }
}

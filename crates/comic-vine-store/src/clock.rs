//! Time as an injectable dependency.
//!
//! Every store reads time through a [`Clock`], so tests drive windows, TTLs and leases
//! with a [`ManualClock`] instead of sleeping. Pure algorithms never read a clock at
//! all: they take a [`Timestamp`] argument.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time: milliseconds since the Unix epoch.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// From milliseconds since the Unix epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// From whole seconds since the Unix epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds since the Unix epoch, rounded down.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// Whole seconds since the Unix epoch, rounded up (e.g. for a TTL that must not
    /// expire early).
    pub const fn as_secs_ceil(self) -> u64 {
        self.0.div_ceil(1000)
    }

    /// This time plus `d`, saturating at the maximum.
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(duration_millis(d)))
    }

    /// This time minus `d`, saturating at the epoch.
    pub fn saturating_sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(duration_millis(d)))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// As a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0)
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        Self(t.duration_since(UNIX_EPOCH).map_or(0, duration_millis))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// A duration in whole milliseconds, saturating at `u64::MAX`.
pub fn duration_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// A shared, dynamically typed clock, as the stores hold it.
pub type SharedClock = Arc<dyn Clock>;

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from(SystemTime::now())
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use comic_vine_store::clock::{Clock, ManualClock, Timestamp};
///
/// let clock = ManualClock::new(Timestamp::from_secs(100));
/// clock.advance(Duration::from_millis(1500));
/// assert_eq!(clock.now(), Timestamp::from_millis(101_500));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(AtomicU64::new(start.as_millis())))
    }

    /// A clock standing at the current system time (handy when a backend compares
    /// stored times with real TTL sweeps).
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(duration_millis(d), Ordering::SeqCst);
    }

    /// Sets the clock to `t` (may move it backwards).
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.as_millis(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

/// A clock offset from another by a fixed amount (for clock-skew tests).
#[derive(Debug, Clone)]
pub struct OffsetClock<C> {
    inner: C,
    offset_millis: i64,
}

impl<C: Clock> OffsetClock<C> {
    /// `inner` shifted by `offset_millis` (negative: behind).
    pub fn new(inner: C, offset_millis: i64) -> Self {
        Self {
            inner,
            offset_millis,
        }
    }
}

impl<C: Clock> Clock for OffsetClock<C> {
    fn now(&self) -> Timestamp {
        let base = self.inner.now().as_millis();
        Timestamp(base.saturating_add_signed(self.offset_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_clones_share_time() {
        let a = ManualClock::new(Timestamp::from_secs(10));
        let b = a.clone();
        a.advance(Duration::from_secs(5));
        assert_eq!(b.now(), Timestamp::from_secs(15));
        b.set(Timestamp::from_millis(7));
        assert_eq!(a.now().as_millis(), 7);
    }

    #[test]
    fn offset_clock_shifts_both_ways_and_saturates() {
        let base = ManualClock::new(Timestamp::from_millis(1_000));
        assert_eq!(OffsetClock::new(base.clone(), 500).now().as_millis(), 1_500);
        assert_eq!(OffsetClock::new(base.clone(), -400).now().as_millis(), 600);
        assert_eq!(OffsetClock::new(base, -5_000).now().as_millis(), 0);
    }

    #[test]
    fn timestamp_arithmetic_saturates() {
        let t = Timestamp::from_millis(1_500);
        assert_eq!(t.as_secs(), 1);
        assert_eq!(t.as_secs_ceil(), 2);
        assert_eq!(t.saturating_sub(Duration::from_secs(10)), Timestamp::EPOCH);
        assert_eq!(
            Timestamp::from_millis(u64::MAX - 1).saturating_add(Duration::from_secs(1)),
            Timestamp::from_millis(u64::MAX)
        );
        assert_eq!(
            t.saturating_duration_since(Timestamp::from_secs(2)),
            Duration::ZERO
        );
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > Timestamp::from_secs(1_577_836_800));
    }
}

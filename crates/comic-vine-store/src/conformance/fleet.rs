//! Helpers of the fleet tests, where OS processes share one backend's rate limiter: the
//! child's acquiring loop and the check over every grant the children recorded.

use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::rate_limit::RateLimitStore;

/// Epoch milliseconds by the system clock (what the stores record).
pub fn now_ms() -> u64 {
    SystemClock.now().as_millis()
}

/// Waits for `start_ms`, then acquires `resource` until `end_ms` (epoch milliseconds),
/// printing `GRANT <ms>` with each grant's recorded time; after a denial it waits the
/// denial's wait, at most `max_pause`.
pub async fn print_grants_until(
    store: &dyn RateLimitStore,
    resource: &str,
    (start_ms, end_ms): (u64, u64),
    max_pause: Duration,
) {
    tokio::time::sleep(Duration::from_millis(start_ms.saturating_sub(now_ms()))).await;
    while now_ms() < end_ms {
        let d = store.try_acquire(resource).await.expect("try_acquire");
        match d.granted_at {
            Some(at) => println!("GRANT {}", at.as_millis()),
            None => tokio::time::sleep(d.wait.min(max_pause)).await,
        }
    }
}

/// Sorts `grants` (epoch milliseconds) and asserts that no `window` from any of them
/// holds more than `limit`, and that at least `at_least` were granted (the budget was
/// used, not starved).
pub fn assert_grants_within(grants: &mut [u64], window: Duration, limit: u32, at_least: usize) {
    grants.sort_unstable();
    let window = window.as_millis() as u64;
    for (i, &t) in grants.iter().enumerate() {
        let n = grants[i..].iter().take_while(|&&g| g < t + window).count();
        assert!(
            n <= limit as usize,
            "{n} grants in the {window} ms from {t}"
        );
    }
    assert!(grants.len() >= at_least, "only {} grants", grants.len());
}

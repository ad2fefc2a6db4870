//! `cvstore demo --budget-spent`: the requests and settings of the budget-spent phase.
//!
//! A warm-up caches `3 × limit / 4` keys per resource (each once, at user priority:
//! three quarters of every resource's budget), fresh for half a window (at most 1 s). It
//! goes without the dedupe store, whose finished jobs' results (kept for its result
//! grace, 10 s by default) would otherwise answer the phase's requests for those keys.
//! Once the entries are stale, each worker asks for them again (half of its requests,
//! repeated) and for never-seen keys (the other half, each asked once), more than the
//! budget left in the window: fewer slots than seen keys. A slot further away than a
//! twentieth of a window (at most 100 ms) fails the request, unless a stale entry may
//! answer: with stale serving on, within 20 windows when the budget is spent or upstream
//! fails. The stub sends an `ETag`: a call for a stale entry is conditional, and its
//! `304` revalidates the entry (it still counts against the limit). With a window longer
//! than the run, the phase makes at most `limit - seen_keys` calls per resource.

use std::time::Duration;

use comic_vine_store::Priority;
use comic_vine_store::pipeline::StalePolicy;

use super::fleet::{Planned, RESOURCES, Settings};
use crate::cli::Phase;

/// Keys per resource the warm-up caches: three quarters of the limit, at least 1.
pub fn seen_keys(limit: u32) -> u64 {
    (u64::from(limit) * 3 / 4).max(1)
}

/// How long the phase's entries are fresh: half a window, at most 1 s.
fn ttl(window: Duration) -> Duration {
    (window / 2).min(Duration::from_secs(1))
}

/// Ids of never-seen keys start here (seen keys are `0..seen_keys`).
const NEVER_SEEN: u64 = 1 << 32;

/// The stale policy with stale serving `on`: stale entries answer for 20 windows past
/// their freshness when the budget is spent or upstream fails.
pub fn policy(on: bool, window: Duration) -> StalePolicy {
    if !on {
        return StalePolicy::none();
    }
    StalePolicy {
        stale_while_revalidate: Duration::ZERO,
        stale_if_error: window * 20,
        stale_if_rate_limited: window * 20,
    }
}

/// The pipeline settings of `phase` (`stale`: stale serving on).
pub fn settings(phase: Phase, stale: bool, window: Duration) -> Settings {
    match phase {
        Phase::Mix => Settings::default(),
        Phase::WarmUp => Settings {
            ttl: ttl(window),
            stale: policy(stale, window),
            dedupe: false,
            ..Settings::default()
        },
        Phase::Budget => Settings {
            ttl: ttl(window),
            max_wait: (window / 20).min(Duration::from_millis(100)),
            stale: policy(stale, window),
            dedupe: true,
        },
    }
}

/// How long to pause after the warm-up: its entries' freshness, so that all are stale.
pub fn pause(window: Duration) -> Duration {
    ttl(window) + Duration::from_millis(50)
}

/// Worker `worker`'s share of the warm-up (of `workers`): the seen keys `k` with
/// `k % workers == worker`, so that each is asked once.
pub fn warm_up(worker: usize, workers: usize, limit: u32, run: &str) -> Vec<Planned> {
    let mut plan = Vec::new();
    let mut k = 0;
    for id in 0..seen_keys(limit) {
        for resource in RESOURCES {
            if k % workers == worker {
                plan.push(Planned::new(resource, id, Priority::User, run, true));
            }
            k += 1;
        }
    }
    plan
}

/// Worker `worker`'s `requests` of the phase: half on seen keys (stale by then), half on
/// never-seen ones, each of those asked once; 30 % at user priority.
pub fn phase(seed: u64, worker: usize, requests: usize, limit: u32, run: &str) -> Vec<Planned> {
    let mut rng = fastrand::Rng::with_seed(seed.wrapping_add(worker as u64));
    let first_new = NEVER_SEEN + (worker as u64) * (requests as u64);
    (0..requests)
        .map(|i| {
            let resource = RESOURCES[rng.usize(..RESOURCES.len())];
            let priority = if rng.f64() < 0.3 {
                Priority::User
            } else {
                Priority::Background
            };
            if rng.bool() {
                let id = rng.u64(..seen_keys(limit));
                Planned::new(resource, id, priority, run, true)
            } else {
                Planned::new(resource, first_new + i as u64, priority, run, false)
            }
        })
        .collect()
}

/// The plan of one worker in `phase`.
pub fn plan(
    phase: Phase,
    seed: u64,
    (worker, workers): (usize, usize),
    requests: usize,
    limit: u32,
    run: &str,
) -> Vec<Planned> {
    match phase {
        Phase::Mix => super::fleet::plan(seed, worker, requests, run),
        Phase::WarmUp => warm_up(worker, workers, limit, run),
        Phase::Budget => self::phase(seed, worker, requests, limit, run),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warm_up_asks_each_seen_key_once_across_the_workers() {
        let mut keys: Vec<(String, String)> = (0..3)
            .flat_map(|w| warm_up(w, 3, 20, "r"))
            .map(|p| {
                let (r, k) = p.key();
                (r.to_owned(), k)
            })
            .collect();
        assert_eq!(keys.len(), 15 * RESOURCES.len());
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 15 * RESOURCES.len());
        let phase: Vec<Planned> = (0..3).flat_map(|w| phase(7, w, 50, 20, "r")).collect();
        let new: Vec<String> = phase
            .iter()
            .filter(|p| !p.seen())
            .map(|p| p.key().1)
            .collect();
        let mut distinct = new.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), new.len(), "never-seen keys are asked once");
        assert!(
            phase
                .iter()
                .filter(|p| p.seen())
                .all(|p| keys.iter().any(|k| k.1 == p.key().1))
        );
    }
}

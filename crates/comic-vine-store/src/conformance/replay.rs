//! A seeded random operation sequence, run on a backend, returning every outcome, so a
//! test can compare two backends' outcome lists for equality.
//!
//! ```no_run
//! # async fn example() {
//! use comic_vine_store::conformance::{MemoryBackend, replay};
//! let start = comic_vine_store::clock::Timestamp::from_secs(1_764_000_000);
//! let a = replay::run(&MemoryBackend::default(), 7, 300, 2, start).await;
//! let b = replay::run(&MemoryBackend::default(), 7, 300, 2, start).await;
//! assert_eq!(a, b);
//! # }
//! ```

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use super::{AdaptiveBackend, DedupeBackend, RateLimitBackend, Setup};
use crate::adaptive::Priority;
use crate::clock::{ManualClock, Timestamp};
use crate::config::{DedupeConfig, RateLimit, RateLimitConfig};
use crate::dedupe::{JobId, Registration};
use crate::error::StoreResult;

/// SplitMix64: a tiny deterministic generator (no dependency, same on every platform).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The setup of a replay: small limits and short leases, so a few hundred steps cross
/// windows, recalculations, lease expiries and result graces.
pub fn setup(start: Timestamp) -> Setup {
    let mut s = Setup {
        clock: ManualClock::new(start),
        rate_limits: RateLimitConfig::new(RateLimit::new(6, Duration::from_secs(10)).unwrap()),
        dedupe: DedupeConfig {
            lease: Duration::from_secs(5),
            result_grace: Duration::from_secs(2),
            // Real time: `wait_for` is only asked of jobs not in progress, so it answers
            // after one read; 200 ms let a slow read on a loaded machine time out.
            job_timeout: Duration::from_secs(5),
            ..DedupeConfig::default()
        },
        ..Setup::new()
    };
    s.adaptive.recalculation_interval = Duration::from_secs(1);
    s.adaptive.min_user_reserved = 2;
    s
}

/// Job ids are random: outcomes name them by order of first appearance.
#[derive(Default)]
struct Names(HashMap<String, usize>);

impl Names {
    fn name(&mut self, id: &JobId) -> String {
        let next = self.0.len();
        format!("job{}", self.0.entry(id.to_string()).or_insert(next))
    }
    fn scrub(&mut self, text: String) -> String {
        self.0.iter().fold(text, |t, (id, n)| {
            t.replace(id.as_str(), &format!("job{n}"))
        })
    }
}

fn show<T: std::fmt::Debug>(r: StoreResult<T>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("Err({})", e.kind()),
    }
}

/// Runs `steps` random operations chosen by `seed` (rate limit, adaptive and dedupe,
/// spread over `handles` handles of each store, with the clock advanced at random from
/// `start`) and returns one line per operation: what was asked and what came back.
///
/// Two backends that implement the same policy return the same lines for one handle.
/// With several, a backend whose cell decides a no-write transition on the state it
/// last saw (DynamoDB) may deny with another wait than memory when another handle
/// wrote a cooldown or a reset since — the [`crate::cell`] contract allows that.
pub async fn run(
    b: &(impl RateLimitBackend + AdaptiveBackend + DedupeBackend),
    seed: u64,
    steps: usize,
    handles: usize,
    start: Timestamp,
) -> Vec<String> {
    let setup = setup(start);
    let mut rng = Rng(seed);
    let mut names = Names::default();
    let count = handles.max(1);
    let mut handles = Vec::new();
    for _ in 0..count {
        handles.push((
            b.rate_limit(&setup).await.unwrap(),
            b.adaptive(&setup).await.unwrap(),
            b.dedupe(&setup).await.unwrap(),
        ));
    }
    let mut owned: HashMap<&str, JobId> = HashMap::new();
    let mut out = Vec::with_capacity(steps);
    for step in 0..steps {
        let (rl, ad, dd) = &handles[rng.below(count as u64) as usize];
        let resource = rng.pick(&["issues", "volumes"]);
        let hash = rng.pick(&["h1", "h2"]);
        let priority = if rng.below(2) == 0 {
            Priority::User
        } else {
            Priority::Background
        };
        let job = owned
            .get(hash)
            .cloned()
            .unwrap_or_else(|| JobId::from_string("none"));
        let until = setup
            .clock_now()
            .saturating_add(Duration::from_millis(rng.below(8_000)));
        let op = rng.below(20);
        let line = match op {
            0..=2 => format!(
                "acquire {resource}: {}",
                show(rl.try_acquire(resource).await)
            ),
            3 => format!("record {resource}: {}", show(rl.record(resource).await)),
            4 => format!("status {resource}: {}", show(rl.status(resource).await)),
            5 => format!("wait {resource}: {}", show(rl.wait_time(resource).await)),
            6 => format!(
                "cooldown {resource}: {}",
                show(rl.cooldown(resource, until).await)
            ),
            7 if rng.below(4) == 0 => {
                format!("reset {resource}: {}", show(rl.reset(resource).await))
            }
            8..=9 => format!(
                "adaptive acquire {resource} {priority}: {}",
                show(ad.try_acquire(resource, priority).await)
            ),
            10 => format!(
                "adaptive record {resource} {priority}: {}",
                show(ad.record(resource, priority).await)
            ),
            11 => format!(
                "adaptive status {resource}: {}",
                show(ad.status(resource).await)
            ),
            12 => format!(
                "adaptive cooldown {resource}: {}",
                show(ad.cooldown(resource, until).await)
            ),
            13 if rng.below(4) == 0 => {
                format!(
                    "adaptive reset {resource}: {}",
                    show(ad.reset(resource).await)
                )
            }
            14..=15 => {
                let r = dd.register_or_join(hash).await;
                if let Ok(Registration::Owner { job_id, .. }) = &r {
                    owned.insert(hash, job_id.clone());
                    names.name(job_id);
                }
                format!("register {hash}: {}", show(r))
            }
            16 => format!(
                "complete {hash}: {}",
                show(dd.complete(hash, &job, &json!({"step": step})).await)
            ),
            17 => format!(
                "fail {hash}: {}",
                show(dd.fail(hash, &job, "upstream 500").await)
            ),
            18 => format!("extend {hash}: {}", show(dd.extend_lease(hash, &job).await)),
            _ => {
                let info = dd.job(hash).await;
                let waited = match dd.is_in_progress(hash).await {
                    Ok(false) => show(dd.wait_for(hash).await),
                    other => show(other),
                };
                format!("job {hash}: {} / {waited}", show(info))
            }
        };
        out.push(names.scrub(line));
        setup
            .clock
            .advance(Duration::from_millis(rng.below(4) * rng.below(1_500)));
    }
    out
}

impl Setup {
    fn clock_now(&self) -> Timestamp {
        crate::clock::Clock::now(&self.clock)
    }
}

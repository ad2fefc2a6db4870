//! Exactness cases: random JSON documents (see [`json_gen`](super::json_gen)) come back
//! exactly through a cache: as [`Value`] (equal, and every float with the same bits)
//! when a `Value` holds the document, and as [`RawJson`] (the same text, byte for byte)
//! always.
//!
//! Each case stores [`DOCUMENTS`] documents with [`IN_FLIGHT`] requests at a time. The
//! run is named by a seed (default [`DEFAULT_SEED`], or `COMIC_VINE_EXACTNESS_SEED`),
//! printed with every failure.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::json_gen::{self, Doc, Options, Rng};
use super::{RawCacheBackend, Setup};
use crate::json::RawJson;

/// Documents per case.
pub const DOCUMENTS: u64 = 10_000;
/// Store requests in flight at a time.
pub const IN_FLIGHT: usize = 32;
/// The seed used unless `COMIC_VINE_EXACTNESS_SEED` names another.
pub const DEFAULT_SEED: u64 = 0x5EED_E8AC_7000_0011;

/// Documents generated at most per case (in case few are of the kind a case checks).
const MAX_INDEX: u64 = 4 * DOCUMENTS;
const TTL: Option<Duration> = Some(Duration::from_secs(3600));

/// The seed of this run.
pub fn seed() -> u64 {
    std::env::var("COMIC_VINE_EXACTNESS_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// Document `index` of the run named by `seed`.
pub fn doc(seed: u64, index: u64) -> Doc {
    json_gen::document(&mut Rng::for_item(seed, index), Options::default())
}

/// Documents a [`Value`] holds are stored and read back as `Value`s: equal, same
/// number kinds, same float bits (and serde_json parses their text to that value).
pub async fn exact_values_round_trip(b: &impl RawCacheBackend) {
    let cache = b.cache(&Setup::new()).await.unwrap();
    let seed = seed();
    let checked = for_each_doc(seed, move |i, doc| {
        let cache = Arc::clone(&cache);
        async move {
            let Some(expected) = doc.value else {
                return Ok(false);
            };
            let parsed: Value = serde_json::from_str(&doc.text).map_err(|e| e.to_string())?;
            same(&parsed, &expected, "$").map_err(|e| format!("serde_json parsed it: {e}"))?;
            let key = format!("exact-value-{i}");
            cache
                .set(&key, &expected, TTL)
                .await
                .map_err(|e| e.to_string())?;
            let back = cache.get(&key).await.map_err(|e| e.to_string())?;
            same(&back.ok_or("a miss")?, &expected, "$").map_err(|e| format!("read back: {e}"))?;
            Ok(true)
        }
    })
    .await;
    assert!(
        checked >= DOCUMENTS,
        "only {checked} documents were Values (seed {seed})"
    );
}

/// Every document is stored and read back as [`RawJson`]: the same text, byte for
/// byte; and when a [`Value`] holds it, the text read back parses to that value.
pub async fn exact_raw_round_trip(b: &impl RawCacheBackend) {
    let cache = b.raw_cache(&Setup::new()).await.unwrap();
    let seed = seed();
    let beyond_value = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&beyond_value);
    let checked = for_each_doc(seed, move |i, doc| {
        let cache = Arc::clone(&cache);
        let counter = Arc::clone(&counter);
        async move {
            let raw = RawJson::from_string(doc.text.clone()).map_err(|e| e.to_string())?;
            let key = format!("exact-raw-{i}");
            cache
                .set(&key, &raw, TTL)
                .await
                .map_err(|e| e.to_string())?;
            let back = cache
                .get(&key)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("a miss")?;
            if back.as_str() != doc.text {
                return Err(format!("read back as {back}"));
            }
            match doc.value {
                Some(expected) => {
                    let value = back.to_value().map_err(|e| e.to_string())?;
                    same(&value, &expected, "$").map_err(|e| format!("as a Value: {e}"))?;
                }
                None => {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(true)
        }
    })
    .await;
    let beyond = beyond_value.load(Ordering::Relaxed);
    assert!(
        checked >= DOCUMENTS,
        "only {checked} documents checked (seed {seed})"
    );
    assert!(
        beyond > DOCUMENTS / 10,
        "only {beyond} documents beyond what a Value holds (seed {seed})"
    );
}

/// Runs `check` on documents of the run, [`IN_FLIGHT`] at a time, until it has checked
/// (returned `Ok(true)` for) [`DOCUMENTS`] of them; panics with the seed and the first
/// failures. Returns how many documents `check` checked.
async fn for_each_doc<F, Fut>(seed: u64, check: F) -> u64
where
    F: Fn(u64, Doc) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<bool, String>> + Send,
{
    let check = Arc::new(check);
    let next = Arc::new(AtomicU64::new(0));
    let counted = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (check, next, counted) = (Arc::clone(&check), Arc::clone(&next), Arc::clone(&counted));
        workers.spawn(async move {
            let (mut checked, mut failures) = (0_u64, Vec::new());
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if counted.load(Ordering::Relaxed) >= DOCUMENTS || i >= MAX_INDEX {
                    return (checked, failures);
                }
                let doc = doc(seed, i);
                let text = doc.text.clone();
                match check(i, doc).await {
                    Ok(true) => {
                        checked += 1;
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(false) => {}
                    Err(e) => failures.push(format!("document #{i} {text}: {e}")),
                }
            }
        });
    }
    let (mut checked, mut failures) = (0, Vec::new());
    while let Some(done) = workers.join_next().await {
        let (c, f) = done.expect("an exactness worker panicked");
        checked += c;
        failures.extend(f);
    }
    if !failures.is_empty() {
        failures.sort();
        let shown: Vec<&str> = failures.iter().take(5).map(|s| truncate(s)).collect();
        panic!(
            "{} of {DOCUMENTS} documents did not come back exactly (seed {seed}; rerun with \
             COMIC_VINE_EXACTNESS_SEED={seed}):\n{}",
            failures.len(),
            shown.join("\n")
        );
    }
    checked
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(600) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// Whether `a` and `b` are the same value: equal, with the same number kinds and the
/// same float bits (so `-0.0` differs from `0.0`). The error names the first place
/// they differ, as a path from `$`.
pub fn same(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    let differ = || Err(format!("at {path}: {a} is not {b}"));
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let same_number = match (x.as_f64(), x.is_f64(), y.is_f64()) {
                (Some(fx), true, true) => y.as_f64().is_some_and(|fy| fx.to_bits() == fy.to_bits()),
                (_, false, false) => x == y,
                _ => false,
            };
            if same_number { Ok(()) } else { differ() }
        }
        (Value::Array(xs), Value::Array(ys)) if xs.len() == ys.len() => xs
            .iter()
            .zip(ys)
            .enumerate()
            .try_for_each(|(i, (x, y))| same(x, y, &format!("{path}[{i}]"))),
        (Value::Object(xs), Value::Object(ys)) if xs.len() == ys.len() => {
            xs.iter().try_for_each(|(k, x)| match ys.get(k) {
                Some(y) => same(x, y, &format!("{path}.{k:?}")),
                None => Err(format!("at {path}: key {k:?} missing")),
            })
        }
        (Value::Array(_) | Value::Object(_) | Value::Number(_), _) => differ(),
        _ if a == b => Ok(()),
        _ => differ(),
    }
}

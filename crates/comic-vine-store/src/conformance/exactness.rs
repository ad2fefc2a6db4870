//! Exactness cases: random JSON documents (see [`json_gen`]) come back
//! exactly through a cache: as [`Value`] (equal, and every float with the same bits)
//! when a `Value` holds the document, and as [`RawJson`] (the same text, byte for byte)
//! always.
//!
//! Each case stores [`DOCUMENTS`] documents, up to [`MAX_PER_ENTRY`] per cache entry,
//! with [`IN_FLIGHT`] requests at a time (seconds on DynamoDB Local). The
//! run is named by a seed (default [`DEFAULT_SEED`], or `COMIC_VINE_EXACTNESS_SEED`),
//! printed with every failure.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::json_gen::{self, Doc, Options, Rng, VALUE_MAX_DEPTH};
use super::{RawCacheBackend, Setup};
use crate::json::RawJson;

/// Documents per case.
pub const DOCUMENTS: u64 = 10_000;
/// The most documents stored in one cache entry (as one JSON array); each entry holds
/// a random number of them, from 1 (the document itself) up, so both small values and
/// compressed ones are written.
pub const MAX_PER_ENTRY: u64 = 40;
/// Store requests in flight at a time.
pub const IN_FLIGHT: usize = 32;
/// The seed used unless `COMIC_VINE_EXACTNESS_SEED` names another.
pub const DEFAULT_SEED: u64 = 0x5EED_E8AC_7000_0011;

/// Entries written at most per case (in case few documents are of the kind it checks).
const MAX_ENTRIES: u64 = 4 * DOCUMENTS / (MAX_PER_ENTRY / 2);
const TTL: Option<Duration> = Some(Duration::from_secs(3600));

/// The seed of this run.
pub fn seed() -> u64 {
    std::env::var("COMIC_VINE_EXACTNESS_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// The documents of entry `entry` in the run named by `seed`; document `k` of it is
/// document number `entry * 64 + k` in failure messages.
pub fn entry_docs(seed: u64, entry: u64) -> Vec<Doc> {
    let count = 1 + Rng::for_item(!seed, entry).below(MAX_PER_ENTRY);
    (0..count)
        .map(|k| json_gen::document(&mut Rng::for_item(seed, entry * 64 + k), Options::default()))
        .collect()
}

/// Documents a [`Value`] holds are stored and read back as `Value`s: equal, same
/// number kinds, same float bits (and serde_json parses their text to that value).
pub async fn exact_values_round_trip(b: &impl RawCacheBackend) {
    let cache = b.cache(&Setup::new()).await.unwrap();
    let seed = seed();
    let checked = for_each_entry(seed, move |entry, docs| {
        let cache = Arc::clone(&cache);
        async move {
            let mut values = Vec::new();
            for (k, doc) in docs.into_iter().enumerate() {
                let Some(expected) = doc.value else { continue };
                let parsed: Value =
                    serde_json::from_str(&doc.text).map_err(|e| format!("#{k}: {e}"))?;
                same(&parsed, &expected, &format!("#{k}"))
                    .map_err(|e| format!("serde_json parsed {}: {e}", doc.text))?;
                values.push((expected, doc.depth));
            }
            let n = values.len() as u64;
            // One document alone as it is; several as an array, which nests one level
            // deeper, so a document already at the deepest level goes alone.
            let (deepest, rest): (Vec<_>, Vec<_>) =
                values.into_iter().partition(|(_, d)| *d >= VALUE_MAX_DEPTH);
            let mut entries: Vec<Value> = deepest.into_iter().map(|(v, _)| v).collect();
            let mut rest: Vec<Value> = rest.into_iter().map(|(v, _)| v).collect();
            match rest.len() {
                0 => {}
                1 => entries.extend(rest.pop()),
                _ => entries.push(Value::Array(rest)),
            }
            for (e, expected) in entries.iter().enumerate() {
                let key = format!("exact-value-{entry}-{e}");
                cache
                    .set(&key, expected, TTL)
                    .await
                    .map_err(|e| e.to_string())?;
                let back = cache.get(&key).await.map_err(|e| e.to_string())?;
                same(&back.ok_or("a miss")?, expected, "$")
                    .map_err(|e| format!("read back: {e}"))?;
            }
            Ok(n)
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
    let checked = for_each_entry(seed, move |entry, docs| {
        let cache = Arc::clone(&cache);
        let counter = Arc::clone(&counter);
        async move {
            let n = docs.len() as u64;
            let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
            let text = match texts.as_slice() {
                [one] => (*one).to_owned(),
                many => format!("[{}]", many.join(",")),
            };
            let raw = RawJson::from_string(text.clone()).map_err(|e| e.to_string())?;
            let key = format!("exact-raw-{entry}");
            cache
                .set(&key, &raw, TTL)
                .await
                .map_err(|e| e.to_string())?;
            let back = cache
                .get(&key)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("a miss")?;
            if back.as_str() != text {
                let at = first_difference(back.as_str(), &text);
                return Err(format!("read back differs from byte {at}: {back}"));
            }
            for (k, doc) in docs.into_iter().enumerate() {
                let Some(expected) = doc.value else {
                    counter.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let value = RawJson::from_string(doc.text)
                    .and_then(|r| r.to_value())
                    .map_err(|e| format!("#{k}: {e}"))?;
                same(&value, &expected, &format!("#{k}"))
                    .map_err(|e| format!("as a Value: {e}"))?;
            }
            Ok(n)
        }
    })
    .await;
    let beyond = beyond_value.load(Ordering::Relaxed);
    assert!(
        checked >= DOCUMENTS,
        "only {checked} documents checked (seed {seed})"
    );
    assert!(
        beyond > checked / 10,
        "only {beyond} documents beyond what a Value holds (seed {seed})"
    );
}

fn first_difference(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

/// Runs `check` on entries of the run, [`IN_FLIGHT`] at a time, until it has checked
/// [`DOCUMENTS`] documents (the counts `check` returns); panics with the seed and the
/// first failures. Returns how many documents were checked.
async fn for_each_entry<F, Fut>(seed: u64, check: F) -> u64
where
    F: Fn(u64, Vec<Doc>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<u64, String>> + Send,
{
    let check = Arc::new(check);
    let next = Arc::new(AtomicU64::new(0));
    let counted = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (check, next, counted) = (Arc::clone(&check), Arc::clone(&next), Arc::clone(&counted));
        workers.spawn(async move {
            let mut failures = Vec::new();
            loop {
                let entry = next.fetch_add(1, Ordering::Relaxed);
                if counted.load(Ordering::Relaxed) >= DOCUMENTS || entry >= MAX_ENTRIES {
                    return failures;
                }
                match check(entry, entry_docs(seed, entry)).await {
                    Ok(n) => {
                        counted.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(e) => failures.push(format!("entry {entry}: {e}")),
                }
            }
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = workers.join_next().await {
        failures.extend(done.expect("an exactness worker panicked"));
    }
    if !failures.is_empty() {
        failures.sort();
        let shown: Vec<&str> = failures.iter().take(5).map(|s| truncate(s)).collect();
        panic!(
            "{} entries did not come back exactly (seed {seed}; rerun with \
             COMIC_VINE_EXACTNESS_SEED={seed}):\n{}",
            failures.len(),
            shown.join("\n")
        );
    }
    counted.load(Ordering::Relaxed)
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

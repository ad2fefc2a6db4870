//! Freshness cases: entry times, stale entries, `touch`.

use std::time::Duration;

use serde_json::{Value, json};

use super::{CacheBackend, new_cache};
use crate::cache::{CacheEntry, Freshness};
use crate::clock::Clock;
use crate::error::StoreError;

const SECOND: Duration = Duration::from_secs(1);

pub(super) fn freshness(fresh_secs: u64, stale_secs: u64) -> Freshness {
    Freshness::fresh_for(Some(SECOND * fresh_secs as u32))
        .with_stale_for(SECOND * stale_secs as u32)
}

/// A value of `len` pseudo-random letters: compresses poorly, so a backend with an item
/// limit stores a long one in parts.
pub(super) fn incompressible(len: usize) -> Value {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let s: String = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect();
    json!({ "blob": s })
}

/// An entry reports when it was stored and its horizons; it is fresh, then stale (and
/// still returned by `get`), then gone at exactly the end of its stale horizon.
pub async fn freshness_entry_times(b: &impl CacheBackend) {
    let (setup, cache) = new_cache(b).await;
    let t0 = setup.clock.now();
    cache
        .set_entry("fresh-times", &json!({"v": 1}), freshness(10, 50))
        .await
        .unwrap();
    let entry = cache.get_entry("fresh-times").await.unwrap().unwrap();
    assert_eq!(
        entry,
        CacheEntry {
            value: json!({"v": 1}),
            stored_at: t0,
            fresh_until: t0.saturating_add(SECOND * 10),
            stale_until: t0.saturating_add(SECOND * 60),
            meta: None,
            // `{"v":1}`: every backend reports the length of the JSON it holds.
            json_len: Some(7),
        }
    );
    setup.clock.advance(SECOND * 9);
    let entry = cache.get_entry("fresh-times").await.unwrap().unwrap();
    assert!(entry.is_fresh(setup.clock.now()));
    assert_eq!(entry.age(setup.clock.now()), SECOND * 9);
    setup.clock.advance(SECOND);
    let entry = cache.get_entry("fresh-times").await.unwrap().unwrap();
    assert!(
        !entry.is_fresh(setup.clock.now()),
        "stale at exactly fresh_until"
    );
    assert_eq!(
        cache.get("fresh-times").await.unwrap(),
        Some(json!({"v": 1}))
    );
    setup.clock.advance(SECOND * 49);
    assert!(cache.get_entry("fresh-times").await.unwrap().is_some());
    setup.clock.advance(SECOND);
    assert_eq!(cache.get_entry("fresh-times").await.unwrap(), None);
    assert_eq!(cache.get("fresh-times").await.unwrap(), None);
}

/// `set` stores an entry that is fresh for its TTL and never stale; a stale entry is
/// live for `stats` and `cleanup` until its stale horizon.
pub async fn freshness_set_is_never_stale(b: &impl CacheBackend) {
    let (setup, cache) = new_cache(b).await;
    cache
        .set("fresh-plain", &json!(1), Some(SECOND * 10))
        .await
        .unwrap();
    let entry = cache.get_entry("fresh-plain").await.unwrap().unwrap();
    assert_eq!(entry.fresh_until, entry.stale_until);
    cache
        .set_entry("fresh-stale", &json!(2), freshness(10, 100))
        .await
        .unwrap();
    setup.clock.advance(SECOND * 20);
    let stats = cache.stats().await.unwrap();
    assert_eq!((stats.entries, stats.expired_entries), (2, 1));
    assert_eq!(cache.cleanup().await.unwrap(), 1);
    assert_eq!(cache.get("fresh-stale").await.unwrap(), Some(json!(2)));
}

/// `touch` restamps a live entry (fresh again, same value) and reports whether it found
/// one; an expired or missing entry is not brought back; a zero horizon removes it.
pub async fn freshness_touch(b: &impl CacheBackend) {
    let (setup, cache) = new_cache(b).await;
    let other = b.cache(&setup).await.unwrap();
    for (key, value) in [
        ("fresh-touch", json!({"small": true})),
        ("fresh-touch-big", incompressible(600_000)),
    ] {
        cache
            .set_entry(key, &value, freshness(10, 50))
            .await
            .unwrap();
        setup.clock.advance(SECOND * 30);
        let stale = cache.get_entry(key).await.unwrap().unwrap();
        assert!(!stale.is_fresh(setup.clock.now()));
        assert!(other.touch(key, freshness(20, 40)).await.unwrap(), "{key}");
        let now = setup.clock.now();
        let touched = cache.get_entry(key).await.unwrap().unwrap();
        assert_eq!(touched.value, value, "{key}: the value is unchanged");
        assert_eq!(
            (touched.stored_at, touched.fresh_until, touched.stale_until),
            (
                now,
                now.saturating_add(SECOND * 20),
                now.saturating_add(SECOND * 60)
            ),
            "{key}"
        );
        assert!(touched.is_fresh(now));
    }
    assert!(
        !cache
            .touch("fresh-never-set", freshness(10, 0))
            .await
            .unwrap()
    );
    assert_eq!(cache.get("fresh-never-set").await.unwrap(), None);
    setup.clock.advance(SECOND * 60);
    assert!(
        !cache.touch("fresh-touch", freshness(10, 0)).await.unwrap(),
        "expired: not revived"
    );
    assert_eq!(cache.get("fresh-touch").await.unwrap(), None);
    cache
        .set("fresh-touch", &json!(3), Some(SECOND * 10))
        .await
        .unwrap();
    assert!(!cache.touch("fresh-touch", freshness(0, 0)).await.unwrap());
    assert_eq!(
        cache.get("fresh-touch").await.unwrap(),
        None,
        "a zero horizon removes it"
    );
}

/// A horizon (fresh + stale) past the maximum TTL is an `InvalidInput` error for
/// `set_entry` and `touch`, and leaves the previous entry as it was.
pub async fn freshness_refuses_long_horizons(b: &impl CacheBackend) {
    let (setup, cache) = new_cache(b).await;
    cache
        .set_entry("fresh-limit", &json!("old"), freshness(10, 10))
        .await
        .unwrap();
    let before = cache.get_entry("fresh-limit").await.unwrap();
    let too_long = Freshness::fresh_for(None).with_stale_for(setup.cache.max_ttl);
    for e in [
        cache
            .set_entry("fresh-limit", &json!("new"), too_long)
            .await
            .unwrap_err(),
        cache.touch("fresh-limit", too_long).await.unwrap_err(),
    ] {
        assert!(matches!(e, StoreError::InvalidInput { .. }), "{e}");
    }
    assert_eq!(cache.get_entry("fresh-limit").await.unwrap(), before);
    let e = cache.touch("", freshness(1, 1)).await.unwrap_err();
    assert!(
        matches!(e, StoreError::InvalidInput { field: "hash", .. }),
        "{e}"
    );
}

/// Random sequences of `set_entry`, `touch` and clock moves agree with a model of the
/// entry's times.
pub async fn freshness_random_sequences(b: &impl CacheBackend) {
    let (setup, cache) = new_cache(b).await;
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut model: Option<(i64, crate::cache::EntryTimes)> = None;
    for step in 0..60i64 {
        let now = setup.clock.now();
        let f = freshness(next(20), next(20));
        let times = f.times_at(now, &setup.cache).unwrap();
        match next(4) {
            0 => {
                cache
                    .set_entry("fresh-random", &json!(step), f)
                    .await
                    .unwrap();
                model = times.map(|t| (step, t));
            }
            1 => {
                let live = model.filter(|(_, t)| t.stale_until > now);
                let touched = cache.touch("fresh-random", f).await.unwrap();
                assert_eq!(touched, live.is_some() && times.is_some(), "step {step}");
                model = match (live, times) {
                    (Some((v, _)), Some(t)) => Some((v, t)),
                    _ => None,
                };
            }
            _ => setup.clock.advance(Duration::from_millis(next(15_000))),
        }
        let now = setup.clock.now();
        let expected = model
            .filter(|(_, t)| t.stale_until > now)
            .map(|(v, t)| CacheEntry::from_json(json!(v).to_string().as_bytes(), t).unwrap());
        assert_eq!(
            cache.get_entry("fresh-random").await.unwrap(),
            expected,
            "step {step}"
        );
    }
}

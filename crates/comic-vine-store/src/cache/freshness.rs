//! How long a cache entry is fresh, and how long after that it may still be served
//! stale: the times every backend stores beside a value.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::config::CacheConfig;
use crate::error::{StoreError, StoreResult};

/// How long a value written by [`CacheStore::set_entry`](super::CacheStore::set_entry)
/// (or refreshed by [`touch`](super::CacheStore::touch)) is fresh, and how long after
/// that it may still be served stale. The entry expires (is never returned again) at the
/// end of the stale horizon: `fresh_for + stale_for` after it was stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freshness {
    /// How long the value is fresh (`None`: the store's default TTL).
    pub fresh_for: Option<Duration>,
    /// How long after that it may be served stale (zero: it expires when no longer fresh).
    pub stale_for: Duration,
}

impl Freshness {
    /// Fresh for `ttl` (`None`: the store's default TTL), then expired.
    pub fn fresh_for(ttl: Option<Duration>) -> Self {
        Self {
            fresh_for: ttl,
            stale_for: Duration::ZERO,
        }
    }

    /// The same freshness, then servable stale for `stale_for`.
    pub fn with_stale_for(mut self, stale_for: Duration) -> Self {
        self.stale_for = stale_for;
        self
    }

    /// The entry times of a value stored at `now` under `config`: an
    /// [`InvalidInput`](StoreError::InvalidInput) error when the whole horizon
    /// (fresh + stale) exceeds the configured maximum TTL. `None` when the horizon is
    /// zero (nothing is stored; a previous value is removed).
    pub fn times_at(
        &self,
        now: Timestamp,
        config: &CacheConfig,
    ) -> StoreResult<Option<EntryTimes>> {
        let fresh = config.effective_ttl(self.fresh_for)?;
        let horizon = fresh.saturating_add(self.stale_for);
        if horizon > config.max_ttl {
            return Err(StoreError::invalid_input(
                "stale_for",
                format!(
                    "fresh {fresh:?} + stale {:?} exceeds the maximum TTL of {:?}",
                    self.stale_for, config.max_ttl
                ),
            ));
        }
        if horizon.is_zero() {
            return Ok(None);
        }
        Ok(Some(EntryTimes {
            stored_at: now,
            fresh_until: now.saturating_add(fresh),
            stale_until: now.saturating_add(horizon),
        }))
    }
}

/// When an entry was stored, until when it is fresh and until when it may be served
/// stale (its expiry). Always `stored_at <= fresh_until <= stale_until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryTimes {
    /// When the value was stored (or last refreshed by `touch`).
    pub stored_at: Timestamp,
    /// The end of its freshness.
    pub fresh_until: Timestamp,
    /// The end of its stale horizon: the entry expires here.
    pub stale_until: Timestamp,
}

impl EntryTimes {
    /// Times read back from storage, put in order (a corrupt or clock-skewed row never
    /// yields a fresh end past the expiry).
    pub fn ordered(stored_at: Timestamp, fresh_until: Timestamp, stale_until: Timestamp) -> Self {
        let fresh_until = fresh_until.min(stale_until);
        Self {
            stored_at: stored_at.min(fresh_until),
            fresh_until,
            stale_until,
        }
    }
}

/// A cached value with its times (see [`CacheStore::get_entry`](super::CacheStore::get_entry)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheEntry<V> {
    /// The value.
    pub value: V,
    /// When it was stored (or last refreshed by `touch`).
    pub stored_at: Timestamp,
    /// The end of its freshness.
    pub fresh_until: Timestamp,
    /// The end of its stale horizon (its expiry).
    pub stale_until: Timestamp,
    /// The entry's metadata, replaced apart from the value by
    /// [`touch_with_meta`](super::CacheStore::touch_with_meta) (e.g. the headers a 304
    /// refreshed) and kept in the same record, so a hit is still one read; `None` until
    /// then, and after a `set_entry`.
    pub meta: Option<serde_json::Value>,
    /// The length of the value's JSON as its backend holds it, for an entry read from
    /// one ([`from_json`](Self::from_json)): a near cache weighs the entry by it
    /// instead of serializing the value again. `None` for an entry made with
    /// [`new`](Self::new).
    pub json_len: Option<u64>,
}

impl<V> CacheEntry<V> {
    /// `value` with `times`, without metadata.
    pub fn new(value: V, times: EntryTimes) -> Self {
        Self {
            value,
            stored_at: times.stored_at,
            fresh_until: times.fresh_until,
            stale_until: times.stale_until,
            meta: None,
            json_len: None,
        }
    }

    /// The entry whose value is the JSON `json`, with `times`, without metadata; it
    /// records the JSON's length ([`json_len`](Self::json_len)). What every backend's
    /// `get_entry` builds from what it read.
    pub fn from_json(json: &[u8], times: EntryTimes) -> serde_json::Result<Self>
    where
        V: serde::de::DeserializeOwned,
    {
        let mut entry = Self::new(serde_json::from_slice(json)?, times);
        entry.json_len = Some(json.len() as u64);
        Ok(entry)
    }

    /// The same entry with `meta` as its metadata.
    pub fn with_meta(mut self, meta: Option<serde_json::Value>) -> Self {
        self.meta = meta;
        self
    }

    /// How long ago it was stored (zero if `now` is earlier).
    pub fn age(&self, now: Timestamp) -> Duration {
        now.saturating_duration_since(self.stored_at)
    }

    /// Whether it is still fresh at `now`.
    pub fn is_fresh(&self, now: Timestamp) -> bool {
        now < self.fresh_until
    }

    /// How long it has been stale at `now` (zero while fresh).
    pub fn staleness(&self, now: Timestamp) -> Duration {
        now.saturating_duration_since(self.fresh_until)
    }

    /// Whether it may still be served at `now` (before the end of its stale horizon).
    pub fn is_servable(&self, now: Timestamp) -> bool {
        now < self.stale_until
    }

    /// Its times.
    pub fn times(&self) -> EntryTimes {
        EntryTimes {
            stored_at: self.stored_at,
            fresh_until: self.fresh_until,
            stale_until: self.stale_until,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Times are ordered, and the horizon is fresh + stale after `now`.
        #[test]
        fn times_are_ordered(now in 0u64..1u64 << 45, fresh in 1u64..1_000_000, stale in 0u64..1_000_000) {
            let config = CacheConfig::default();
            let f = Freshness::fresh_for(Some(Duration::from_millis(fresh)))
                .with_stale_for(Duration::from_millis(stale));
            let now = Timestamp::from_millis(now);
            let t = f.times_at(now, &config).unwrap().unwrap();
            prop_assert_eq!(t, EntryTimes::ordered(t.stored_at, t.fresh_until, t.stale_until));
            prop_assert_eq!(t.stale_until.saturating_duration_since(now), Duration::from_millis(fresh + stale));
            let entry = CacheEntry::new((), t);
            prop_assert!(entry.is_fresh(now) && entry.is_servable(now));
            prop_assert!(!entry.is_fresh(t.fresh_until));
            prop_assert_eq!(entry.is_servable(t.fresh_until), stale > 0);
        }

        /// Whatever is read back, the ordered times keep stored <= fresh <= stale.
        #[test]
        fn ordered_always_holds(a in any::<u64>(), b in any::<u64>(), c in any::<u64>()) {
            let t = EntryTimes::ordered(Timestamp::from_millis(a), Timestamp::from_millis(b), Timestamp::from_millis(c));
            prop_assert!(t.stored_at <= t.fresh_until && t.fresh_until <= t.stale_until);
        }
    }

    #[test]
    fn a_horizon_past_the_maximum_is_refused() {
        let config = CacheConfig::default();
        let f = Freshness::fresh_for(None).with_stale_for(config.max_ttl);
        let e = f.times_at(Timestamp::EPOCH, &config).unwrap_err();
        assert!(e.to_string().contains("stale"), "{e}");
        let zero = Freshness::fresh_for(Some(Duration::ZERO));
        assert_eq!(zero.times_at(Timestamp::EPOCH, &config).unwrap(), None);
    }
}

//! The one value size limit, measured while serializing.

use std::io;

use serde::Serialize;

use super::{EntryTimes, Freshness, MAX_META_BYTES, MAX_VALUE_BYTES};
use crate::clock::Timestamp;
use crate::config::CacheConfig;
use crate::error::{StoreError, StoreResult};
use crate::validate;

/// The JSON of `value`, refused with [`StoreError::ItemTooLarge`] (naming `key`, the
/// full serialized size and [`MAX_VALUE_BYTES`]) when it is longer than the limit.
///
/// Never holds more than the limit in memory: past it, the rest of the value is only
/// counted, so a refused value costs one serialization pass and no copy. Every backend's
/// `set` calls this before it writes anything.
pub fn serialize_value<V: Serialize + ?Sized>(key: &str, value: &V) -> StoreResult<Vec<u8>> {
    serialize_within(key, value, MAX_VALUE_BYTES)
}

/// The JSON of an entry's metadata, refused with [`StoreError::MetaTooLarge`] (naming
/// `key`, its size and [`MAX_META_BYTES`]) when it is longer than that. Every backend's
/// `touch_with_meta` calls this before it writes anything.
pub fn serialize_meta(key: &str, meta: &serde_json::Value) -> StoreResult<Vec<u8>> {
    serialize_within(key, meta, MAX_META_BYTES).map_err(|e| match e {
        StoreError::ItemTooLarge { key, size, limit } => {
            StoreError::MetaTooLarge { key, size, limit }
        }
        other => other,
    })
}

/// What a [`CacheStore::restamp`](super::CacheStore::restamp) writes: the entry's new
/// freshness, and the metadata that replaces its own (`None`: keep it).
#[derive(Clone, Copy, Debug)]
pub struct Restamp<'a> {
    /// The new horizons, from now.
    pub freshness: Freshness,
    /// The new metadata, if it is to be replaced.
    pub meta: Option<&'a serde_json::Value>,
}

impl Restamp<'_> {
    /// The checks of a restamp of `hash` at `now`, in the order every backend makes them
    /// before it writes anything: the key, the horizon (see [`Freshness::times_at`];
    /// `None`: a zero horizon, the entry is to be removed), then the metadata's size (its
    /// JSON, see [`serialize_meta`]).
    pub fn checked(
        &self,
        hash: &str,
        now: Timestamp,
        config: &CacheConfig,
    ) -> StoreResult<(Option<EntryTimes>, Option<Vec<u8>>)> {
        validate::key("hash", hash)?;
        let times = self.freshness.times_at(now, config)?;
        let meta = self.meta.map(|m| serialize_meta(hash, m)).transpose()?;
        Ok((times, meta))
    }
}

pub(crate) fn serialize_within<V: Serialize + ?Sized>(
    key: &str,
    value: &V,
    limit: usize,
) -> StoreResult<Vec<u8>> {
    let mut out = Bounded {
        bytes: Vec::new(),
        len: 0,
        limit,
    };
    serde_json::to_writer(&mut out, value)?;
    if out.len > limit {
        return Err(StoreError::ItemTooLarge {
            key: key.to_owned(),
            size: out.len,
            limit,
        });
    }
    Ok(out.bytes)
}

/// Keeps bytes up to `limit`, then only counts them.
struct Bounded {
    bytes: Vec<u8>,
    len: usize,
    limit: usize,
}

impl Bounded {
    #[inline]
    fn keep(&mut self, buf: &[u8]) {
        self.len = self.len.saturating_add(buf.len());
        if self.len <= self.limit {
            self.bytes.extend_from_slice(buf);
        } else if self.bytes.capacity() > 0 {
            self.bytes = Vec::new();
        }
    }
}

// `write_all` too: serde_json writes every token with it, and the default one loops
// over `write` (profiled: half the cost of serializing a 1 KB value).
impl io::Write for Bounded {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.keep(buf);
        Ok(buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.keep(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,40}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
                prop::collection::btree_map(".{0,8}", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Within the limit: exactly `serde_json::to_vec`; over it: `ItemTooLarge`
        /// with the exact serialized size.
        #[test]
        fn bounded_serialization_matches_to_vec(value in json_value(), limit in 0usize..400) {
            let expected = serde_json::to_vec(&value).unwrap();
            match serialize_within("k", &value, limit) {
                Ok(bytes) => {
                    prop_assert!(expected.len() <= limit);
                    prop_assert_eq!(bytes, expected);
                }
                Err(StoreError::ItemTooLarge { key, size, limit: l }) => {
                    prop_assert!(expected.len() > limit);
                    prop_assert_eq!((key.as_str(), size, l), ("k", expected.len(), limit));
                }
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }
    }

    #[test]
    fn metadata_over_its_limit_is_a_meta_error() {
        let at = json!("x".repeat(MAX_META_BYTES - 2));
        assert_eq!(serialize_meta("k", &at).unwrap().len(), MAX_META_BYTES);
        let over = json!("x".repeat(MAX_META_BYTES - 1));
        let e = serialize_meta("k", &over).unwrap_err();
        assert!(
            matches!(&e, StoreError::MetaTooLarge { key, size, limit }
                if key == "k" && *size == MAX_META_BYTES + 1 && *limit == MAX_META_BYTES),
            "{e}"
        );
    }

    #[test]
    fn the_limit_is_inclusive() {
        let at = json!("x".repeat(8));
        assert_eq!(serialize_within("k", &at, 10).unwrap().len(), 10);
        let e = serialize_within("k", &at, 9).unwrap_err();
        assert!(e.to_string().contains('k'), "{e}");
    }
}

//! Cache entries by resource: a key of the form `<resource>/<hash>` is an entry of
//! that resource, so a store can keep a resource's entries together and remove them
//! all ([`CacheStore::purge_resource`](super::CacheStore::purge_resource)) without
//! reading any other entry.
//!
//! The resource part is everything before the first `/`, with `%` and `/` in the
//! resource's name percent-encoded ([`resource_key`]); a key without `/` (or starting
//! with one) has no resource. Request hashes are hex, so they never contain `/`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::EntryTimes;

/// What separates a key's resource from the rest of it.
pub const RESOURCE_SEPARATOR: char = '/';

/// The cache key of `hash` under `resource`: `<resource>/<hash>`.
///
/// ```
/// use comic_vine_store::cache::{key_resource, resource_key};
///
/// assert_eq!(resource_key("volumes", "ab12"), "volumes/ab12");
/// assert_eq!(resource_key("a/b", "ab12"), "a%2Fb/ab12");
/// assert_eq!(key_resource("a%2Fb/ab12"), Some("a%2Fb"));
/// assert_eq!(key_resource("ab12"), None);
/// ```
pub fn resource_key(resource: &str, hash: &str) -> String {
    format!("{}{RESOURCE_SEPARATOR}{hash}", encode_resource(resource))
}

/// The resource part of `key`, as the key carries it (encoded, see
/// [`encode_resource`]); `None` for a key without one.
pub fn key_resource(key: &str) -> Option<&str> {
    match key.split_once(RESOURCE_SEPARATOR) {
        Some((resource, _)) if !resource.is_empty() => Some(resource),
        _ => None,
    }
}

/// `resource` as keys carry it: `%` becomes `%25` and `/` becomes `%2F`.
pub fn encode_resource(resource: &str) -> Cow<'_, str> {
    if resource.contains(['%', RESOURCE_SEPARATOR]) {
        Cow::Owned(
            resource
                .replace('%', "%25")
                .replace(RESOURCE_SEPARATOR, "%2F"),
        )
    } else {
        Cow::Borrowed(resource)
    }
}

/// The resource name an encoded key part stands for (the inverse of
/// [`encode_resource`]; any other `%` sequence is kept as it is).
pub fn decode_resource(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("%25") {
            out.push('%');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("%2F") {
            out.push(RESOURCE_SEPARATOR);
            rest = after;
        } else {
            out.push('%');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The resource names of encoded key parts, decoded, sorted and without repeats.
pub fn resource_names<'a>(parts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut names: Vec<String> = parts.into_iter().map(decode_resource).collect();
    names.sort();
    names.dedup();
    names
}

/// One entry as a listing shows it (no value).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrySummary {
    /// Its key (`<resource>/<hash>`).
    pub key: String,
    /// Approximate bytes of its value as stored (after any compression).
    pub bytes: u64,
    /// When it was stored, until when it is fresh, and when it expires.
    pub times: EntryTimes,
}

/// The entries of one resource (see
/// [`CacheStore::resource_entries`](super::CacheStore::resource_entries)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceEntries {
    /// The resource's name.
    pub resource: String,
    /// How many entries it has (expired ones not yet removed included).
    pub entries: u64,
    /// Approximate bytes of their values as stored.
    pub bytes: u64,
    /// Up to the limit asked for, in key order.
    pub listed: Vec<EntrySummary>,
}

impl ResourceEntries {
    /// An empty listing of `resource`.
    pub fn new(resource: &str) -> Self {
        Self {
            resource: resource.to_owned(),
            ..Self::default()
        }
    }

    /// Counts `entry`, and lists it while fewer than `limit` are listed.
    pub fn push(&mut self, entry: EntrySummary, limit: usize) {
        self.entries += 1;
        self.bytes += entry.bytes;
        if self.listed.len() < limit {
            self.listed.push(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_keys() {
        for name in ["volumes", "a/b", "100%", "%2F", "x%25/y", "日本"] {
            let key = resource_key(name, "0af3");
            let part = key_resource(&key).unwrap();
            assert_eq!(decode_resource(part), name, "{key}");
            assert_eq!(&key[part.len() + 1..], "0af3");
        }
        assert_eq!(key_resource("/abc"), None, "an empty resource is none");
        assert_eq!(
            key_resource("issues/4000-1/x"),
            Some("issues"),
            "the first `/` separates"
        );
        assert_eq!(decode_resource("50%off"), "50%off");
    }
}

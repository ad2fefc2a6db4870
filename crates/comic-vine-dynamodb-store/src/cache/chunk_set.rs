//! The chunk-set item of a chunked value: written in the entry's cache partition before
//! its chunks, removed with them, so that `clear`, `cleanup` and `stats` find every
//! chunk by querying the 16 cache partitions (also chunks whose entry was never written).

use comic_vine_store::{StoreResult, Timestamp};

use super::entry::{CHUNKS, SZ, VERSION};
use crate::item::{self, Fields, Item};
use crate::keys;
use crate::table::{SK, TTL};

/// The hash the chunks belong to.
const HASH: &str = "H";
/// When the chunks' writer started writing them (ms, its store's clock).
const WRITTEN_AT: &str = "AT";

/// One chunked value's chunks, as its chunk-set item describes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChunkSet {
    pub(crate) hash: String,
    pub(crate) version: String,
    pub(crate) count: u32,
    /// Bytes of the chunks together (the encoded payload).
    pub(crate) bytes: u64,
    pub(crate) written_at: Timestamp,
}

impl ChunkSet {
    /// The attributes a shard Query projects to read chunk-set items.
    pub(crate) const ATTRIBUTES: [&'static str; 5] = [HASH, VERSION, CHUNKS, SZ, WRITTEN_AT];

    /// The item, expiring (DynamoDB TTL) with the chunks at `ttl_secs`.
    pub(crate) fn item(&self, ttl_secs: u64) -> Item {
        let mut item = item::key(keys::cache_chunk_set(&self.hash, &self.version));
        item.insert(HASH.to_owned(), item::s(self.hash.clone()));
        item.insert(VERSION.to_owned(), item::s(self.version.clone()));
        item.insert(CHUNKS.to_owned(), item::n(u64::from(self.count)));
        item.insert(SZ.to_owned(), item::n(self.bytes));
        item.insert(WRITTEN_AT.to_owned(), item::n(self.written_at.as_millis()));
        item.insert(TTL.to_owned(), item::n(ttl_secs));
        item
    }

    /// Whether an item of a cache partition is a chunk-set item (else an entry).
    pub(crate) fn is_chunk_set(item: &Item) -> bool {
        item.get(SK)
            .and_then(|sk| sk.as_s().ok())
            .is_some_and(|sk| sk.starts_with(keys::CHUNK_SET_PREFIX))
    }

    /// Reads a chunk-set item.
    pub(crate) fn from_item(item: &Item) -> StoreResult<Self> {
        let fields = Fields::new(item, "cache chunk set");
        Ok(Self {
            hash: fields.s(HASH)?.to_owned(),
            version: fields.s(VERSION)?.to_owned(),
            count: u32::try_from(fields.n(CHUNKS)?).unwrap_or(u32::MAX),
            bytes: fields.n(SZ)?,
            written_at: Timestamp::from_millis(fields.n(WRITTEN_AT)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_item() {
        let set = ChunkSet {
            hash: "issues/4000-1?x=日本#y".to_owned(),
            version: "v1".to_owned(),
            count: 7,
            bytes: 2_400_000,
            written_at: Timestamp::from_millis(1_234),
        };
        let item = set.item(99);
        assert!(ChunkSet::is_chunk_set(&item));
        assert_eq!(ChunkSet::from_item(&item).unwrap(), set);
        assert!(!ChunkSet::is_chunk_set(&item::key(keys::cache_entry("h"))));
    }
}

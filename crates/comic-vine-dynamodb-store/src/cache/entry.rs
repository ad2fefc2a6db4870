//! The item of one cache entry: written by the cache store, and by the dedupe store when
//! it publishes a completed job's value (`complete_and_cache`); read by both.

use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use comic_vine_store::clock::Clock;
use comic_vine_store::{EntryTimes, StoreResult, Timestamp};

use super::chunk_set::ChunkSet;
use crate::chunks::Chunks;
use crate::codec::{self, Encoding};
use crate::handle::Table;
use crate::item::{self, Fields, Item};
use crate::keys;
use crate::metrics::{Access, Metrics};
use crate::request::Condition;
use crate::table::TTL;

/// Reads that find a manifest whose chunks were just replaced try again this often.
const READ_ATTEMPTS: u32 = 3;
/// Chunks outlive their entry by this much, so a reader holding the manifest finds them;
/// plus the entry's lifetime, so a `touch` can extend the entry by up to that.
pub(crate) const CHUNK_TTL_MARGIN: Duration = Duration::from_secs(3600);

pub(crate) const EXP: &str = "EXP";
pub(crate) const ENC: &str = "ENC";
const RAW: &str = "RAW";
pub(crate) const SZ: &str = "SZ";
const VALUE: &str = "V";
pub(crate) const VERSION: &str = "VER";
pub(crate) const CHUNKS: &str = "CH";
/// When the value was stored (or last touched), ms.
pub(crate) const STORED_AT: &str = "SAT";
/// The end of its freshness, ms (`EXP` is the end of its stale horizon).
pub(crate) const FRESH_UNTIL: &str = "FRE";
/// When the chunks of a chunked value expire (their `TTL`, as ms).
pub(crate) const CHUNKS_EXPIRE: &str = "CEXP";
/// The entry's metadata (`CacheEntry::meta`), JSON text; set only by `touch_with_meta`,
/// absent after a write of the value.
pub(crate) const META: &str = "META";

/// What a read of an entry item found: the value's JSON and the item's times (`None`
/// for an entry written before the times were stored).
pub(crate) struct Read {
    pub(crate) json: Vec<u8>,
    pub(crate) stored_at: Option<Timestamp>,
    pub(crate) fresh_until: Option<Timestamp>,
    pub(crate) expires: Timestamp,
    /// The entry's metadata, JSON text (absent: none).
    pub(crate) meta: Option<String>,
}

/// Cache entries of one table, with the metrics their requests are counted in.
pub(crate) struct Entries<'a> {
    pub(crate) table: &'a Table,
    pub(crate) metrics: &'a Metrics,
}

/// An entry item ready to be written: its chunks (if any) are already stored.
pub(crate) struct Prepared {
    /// The entry item.
    pub(crate) item: Item,
    /// The version of its chunks, if its value is chunked.
    pub(crate) version: Option<String>,
}

impl Entries<'_> {
    pub(crate) fn chunks(&self, hash: &str) -> Chunks<'_> {
        Chunks {
            table: self.table,
            metrics: self.metrics,
            pk: keys::cache_chunk_pk(hash),
        }
    }

    /// The entry item of `hash` for the JSON `json` with `times` (expiring at
    /// `stale_until`); a value whose encoded payload is over `inline_limit` (see
    /// [`DynamoDbCacheStoreBuilder::inline_limit`](super::DynamoDbCacheStoreBuilder::inline_limit))
    /// has its chunk-set item (stamped `stored_at`) and then its chunks written first.
    pub(crate) async fn prepare_entry(
        &self,
        hash: &str,
        json: Vec<u8>,
        times: EntryTimes,
        inline_limit: usize,
    ) -> StoreResult<Prepared> {
        let (now, expires) = (times.stored_at, times.stale_until);
        let encoded = codec::encode(json, hash)?;
        self.register(hash).await?;
        let mut entry = item::key(keys::cache_entry(hash));
        entry.insert(EXP.to_owned(), item::n(expires.as_millis()));
        entry.insert(STORED_AT.to_owned(), item::n(now.as_millis()));
        entry.insert(
            FRESH_UNTIL.to_owned(),
            item::n(times.fresh_until.as_millis()),
        );
        entry.insert(TTL.to_owned(), item::n(expires.as_secs_ceil()));
        entry.insert(ENC.to_owned(), item::s(encoded.encoding.as_str()));
        entry.insert(RAW.to_owned(), item::n(encoded.raw_len as u64));
        entry.insert(SZ.to_owned(), item::n(encoded.payload.len() as u64));
        let version = if encoded.fits_inline(inline_limit) {
            entry.insert(VALUE.to_owned(), item::b(encoded.payload));
            None
        } else {
            let set = ChunkSet {
                hash: hash.to_owned(),
                version: uuid::Uuid::new_v4().simple().to_string(),
                count: u32::try_from(encoded.chunks().count()).unwrap_or(u32::MAX),
                bytes: encoded.payload.len() as u64,
                written_at: now,
            };
            let lifetime = expires.saturating_duration_since(now);
            let chunk_ttl = expires
                .saturating_add(CHUNK_TTL_MARGIN.saturating_add(lifetime))
                .as_secs_ceil();
            self.put(set.item(chunk_ttl)).await?;
            // The chunked path's futures are boxed, so that they do not weigh on every
            // inline write's (each layer above copies the whole future as it moves).
            let written = Box::pin(self.chunks(hash).write(
                &set.version,
                encoded.chunks(),
                chunk_ttl,
            ))
            .await;
            if let Err(e) = written {
                // Nothing references them: remove them now rather than at cleanup.
                if let Err(e) = Box::pin(self.remove(&set)).await {
                    tracing::warn!(hash, error = %e, "could not remove the chunks of a failed cache write");
                }
                return Err(e);
            }
            entry.insert(VERSION.to_owned(), item::s(set.version.clone()));
            entry.insert(CHUNKS.to_owned(), item::n(u64::from(set.count)));
            entry.insert(
                CHUNKS_EXPIRE.to_owned(),
                item::n(chunk_ttl.saturating_mul(1000)),
            );
            Some(set.version)
        };
        Ok(Prepared {
            item: entry,
            version,
        })
    }

    /// Writes `prepared` as the entry of `hash`, replacing the previous one and removing
    /// its chunks; with `newer_than`, only if no entry stored after that time is there
    /// (an entry without times counts as older). Returns whether it was written; a
    /// refused entry's own chunks are removed.
    ///
    /// The replaced item is asked back only when it names chunks to delete: the first
    /// PutItem is refused when it would replace such an item, and then sent again
    /// returning it, so that the common write does not carry the old value back (up to
    /// 350 KB inline) and a replaced chunked value costs one more request.
    pub(crate) async fn store(
        &self,
        hash: &str,
        prepared: Prepared,
        newer_than: Option<Timestamp>,
    ) -> StoreResult<bool> {
        let Prepared { item, version } = prepared;
        let first = self
            .put_entry(item.clone(), newer_than, true)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let written = match self.table.send_if(self.metrics, first).await? {
            Condition::Met(_) => return Ok(true),
            Condition::Failed(held) if replaces_chunks(hash, held.as_ref(), newer_than) => {
                let put = self
                    .put_entry(item, newer_than, false)
                    .return_values(ReturnValue::AllOld);
                match self.table.send_if(self.metrics, put).await? {
                    Condition::Met(out) => Some(out),
                    Condition::Failed(_) => None,
                }
            }
            Condition::Failed(_) => None,
        };
        let Some(out) = written else {
            if let Some(version) = &version {
                Box::pin(self.discard(hash, version)).await;
            }
            return Ok(false);
        };
        if let Some(old) = out.attributes {
            let old_version = old.get(VERSION).and_then(|v| v.as_s().ok());
            if old_version.is_some() && old_version != version.as_ref() {
                Box::pin(self.delete_chunks_of(hash, &old)).await?;
            }
        }
        Ok(true)
    }

    /// A PutItem of the entry `item`: with `newer_than`, only over no entry stored after
    /// it; if `chunkless`, only over an item that names no chunks.
    fn put_entry(
        &self,
        item: Item,
        newer_than: Option<Timestamp>,
        chunkless: bool,
    ) -> PutItemFluentBuilder {
        let mut put = self.table.put_item(item);
        let mut conditions = Vec::new();
        if let Some(at) = newer_than {
            conditions.push("(attribute_not_exists(#SAT) OR #SAT <= :sat)");
            put = put
                .expression_attribute_names("#SAT", STORED_AT)
                .expression_attribute_values(":sat", item::n(at.as_millis()));
        }
        if chunkless {
            conditions.push("attribute_not_exists(#VER)");
            put = put.expression_attribute_names("#VER", VERSION);
        }
        if conditions.is_empty() {
            put
        } else {
            put.condition_expression(conditions.join(" AND "))
        }
    }

    async fn put(&self, item: Item) -> StoreResult<()> {
        let put = self.table.put_item(item);
        self.table.send(self.metrics, Access::Write, put).await?;
        Ok(())
    }

    async fn delete_chunk_set_item(&self, hash: &str, version: &str) -> StoreResult<()> {
        let delete = self.table.delete_item(keys::cache_chunk_set(hash, version));
        self.table.send(self.metrics, Access::Write, delete).await?;
        Ok(())
    }

    /// Deletes the chunks of `set`, then its chunk-set item.
    pub(crate) async fn remove(&self, set: &ChunkSet) -> StoreResult<()> {
        self.chunks(&set.hash)
            .delete(&set.version, set.count)
            .await?;
        self.delete_chunk_set_item(&set.hash, &set.version).await
    }

    /// The chunks an entry item points to, if any.
    pub(crate) fn chunks_of(hash: &str, entry: &Item) -> StoreResult<Option<(String, u32)>> {
        let what = format!("cache entry {hash}");
        let fields = Fields::new(entry, &what);
        Ok(match (fields.opt_s(VERSION)?, fields.opt_n(CHUNKS)?) {
            (Some(version), Some(count)) => {
                Some((version.to_owned(), u32::try_from(count).unwrap_or(u32::MAX)))
            }
            _ => None,
        })
    }

    /// Deletes the chunks an entry item points to (and their chunk-set item), if any.
    pub(crate) async fn delete_chunks_of(&self, hash: &str, entry: &Item) -> StoreResult<()> {
        if let Some((version, count)) = Self::chunks_of(hash, entry)? {
            let set = ChunkSet {
                hash: hash.to_owned(),
                version,
                count,
                bytes: 0,
                written_at: Timestamp::EPOCH,
            };
            self.remove(&set).await?;
        }
        Ok(())
    }

    /// The JSON bytes and times of the live entry of `hash`, if any. `consistent`
    /// applies to the entry item; a chunked value's chunks are always read strongly
    /// consistently (they are written before the manifest that names them).
    pub(crate) async fn read_entry(
        &self,
        hash: &str,
        clock: &dyn Clock,
        consistent: bool,
    ) -> StoreResult<Option<Read>> {
        let what = format!("cache entry {hash}");
        for _ in 0..READ_ATTEMPTS {
            let get = self
                .table
                .get_item(keys::cache_entry(hash))
                .consistent_read(consistent);
            let out = self.table.send(self.metrics, Access::Read, get).await?;
            let Some(entry) = out.item else {
                return Ok(None);
            };
            let fields = Fields::new(&entry, &what);
            let expires = Timestamp::from_millis(fields.n(EXP)?);
            if expires <= clock.now() {
                return Ok(None);
            }
            let stored_at = fields.opt_n(STORED_AT)?.map(Timestamp::from_millis);
            let fresh_until = fields.opt_n(FRESH_UNTIL)?.map(Timestamp::from_millis);
            let encoding = Encoding::parse(fields.s(ENC)?, &what)?;
            let raw_len = usize::try_from(fields.n(RAW)?).unwrap_or(usize::MAX);
            let payload = match fields.opt_b(VALUE)? {
                Some(inline) => inline.to_vec(),
                None => {
                    let version = fields.s(VERSION)?;
                    let count = u32::try_from(fields.n(CHUNKS)?).unwrap_or(u32::MAX);
                    // Boxed, like the chunked write path.
                    match Box::pin(self.chunks(hash).read(version, count)).await? {
                        Some(payload) => payload,
                        // Replaced while we read: read the new manifest.
                        None => continue,
                    }
                }
            };
            let json = codec::decode(encoding, payload, raw_len, &what)?;
            return Ok(Some(Read {
                json,
                stored_at,
                fresh_until,
                expires,
                meta: fields.opt_s(META)?.map(str::to_owned),
            }));
        }
        tracing::warn!(
            hash,
            "cache entry kept changing while read; treated as a miss"
        );
        Ok(None)
    }

    /// Deletes the chunks of `version` written for an entry that was never stored.
    pub(crate) async fn discard(&self, hash: &str, version: &str) {
        let removed = match self.chunks(hash).delete_found(version).await {
            Ok(()) => self.delete_chunk_set_item(hash, version).await,
            Err(e) => Err(e),
        };
        if let Err(e) = removed {
            tracing::warn!(hash, error = %e, "could not remove the chunks of an unwritten cache entry");
        }
    }
}

/// Whether a write of the entry of `hash` refused by `held` was refused for the chunks
/// `held` names (to be asked back and deleted), not for being newer than `newer_than`.
fn replaces_chunks(hash: &str, held: Option<&Item>, newer_than: Option<Timestamp>) -> bool {
    held.is_some_and(|old| {
        let stored_at = Fields::new(old, hash).opt_n(STORED_AT).ok().flatten();
        let newer_held =
            matches!((newer_than, stored_at), (Some(at), Some(sat)) if sat > at.as_millis());
        !newer_held && old.contains_key(VERSION)
    })
}

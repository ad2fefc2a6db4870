//! `clear`, `cleanup`, `stats` and `purge_resource`: one Query per cache partition
//! (16 per registered resource and 16 of entries without one for the first three, the
//! resource's 16 for a purge; never a Scan) returns its entries and its chunk-set
//! items, so chunks no entry references (orphans: a writer died between its chunks and
//! its entry) are counted and removed.

use std::collections::{HashMap, HashSet};
use std::ops::Add;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, ReturnValue, WriteRequest};
use comic_vine_store::cache::key_resource;
use comic_vine_store::{CacheStats, StoreError, StoreResult, Timestamp};
use futures_util::{StreamExt, TryStreamExt, stream};

use super::chunk_set::ChunkSet;
use super::entry::{EXP, FRESH_UNTIL, STORED_AT, SZ};
use super::{DynamoDbCacheStore, Entries};
use crate::chunks::batch_write;
use crate::item::{self, Fields, Item};
use crate::keys;
use crate::request::Condition;
use crate::table::{PK, SK};

/// Cache partitions worked on at once.
const SHARD_CONCURRENCY: usize = 4;
/// Deletes in flight at once within one partition.
const DELETE_CONCURRENCY: usize = 8;
/// Orphaned chunks younger than this are left to `cleanup`'s next run: they may be
/// those of a write in flight, whose entry is written after them.
pub(crate) const ORPHAN_GRACE: Duration = Duration::from_secs(300);

/// What `clear` or `cleanup` removed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Removed {
    pub(crate) entries: u64,
    pub(crate) orphan_chunks: u64,
}

impl Add for Removed {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            entries: self.entries + o.entries,
            orphan_chunks: self.orphan_chunks + o.orphan_chunks,
        }
    }
}

/// The items of one cache partition.
pub(super) struct Shard {
    pub(super) entries: Vec<Item>,
    sets: Vec<ChunkSet>,
}

impl Shard {
    /// The chunk sets no entry of the partition references.
    fn orphans(&self) -> StoreResult<Vec<&ChunkSet>> {
        let mut referenced = HashSet::new();
        for entry in &self.entries {
            let hash = entry_hash(entry)?;
            if let Some((version, _)) = Entries::chunks_of(hash, entry)? {
                referenced.insert((hash, version));
            }
        }
        Ok(self
            .sets
            .iter()
            .filter(|s| !referenced.contains(&(s.hash.as_str(), s.version.clone())))
            .collect())
    }
}

impl<V> DynamoDbCacheStore<V> {
    /// Every item of one cache partition (small attributes only), strongly consistent.
    pub(super) async fn shard(&self, pk: &str) -> StoreResult<Shard> {
        let mut names = vec![SK, EXP, STORED_AT, FRESH_UNTIL];
        names.extend(ChunkSet::ATTRIBUTES);
        let projection = (0..names.len())
            .map(|i| format!("#a{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut query = self
            .table
            .query()
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", item::s(pk))
            .projection_expression(&projection)
            .consistent_read(true);
        for (i, name) in names.iter().enumerate() {
            query = query.expression_attribute_names(format!("#a{i}"), *name);
        }
        let (mut entries, mut sets) = (Vec::new(), Vec::new());
        for item in self.table.query_all(&self.gate.metrics, query).await? {
            if ChunkSet::is_chunk_set(&item) {
                sets.push(ChunkSet::from_item(&item)?);
            } else {
                entries.push(item);
            }
        }
        Ok(Shard { entries, sets })
    }

    /// Operation `op` (through the gate): [`per_partition`](Self::per_partition) over
    /// every cache partition (those of entries without a resource, and of each
    /// registered one).
    pub(super) async fn every_partition<T, F, Fut>(&self, op: &'static str, f: F) -> StoreResult<T>
    where
        T: Add<Output = T> + Default,
        F: Fn(String) -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        self.gate
            .run(op, async {
                let pks = self.entries().partitions().await?;
                self.per_partition(pks, f).await
            })
            .await
    }

    /// Runs `f` on every partition of `pks`, a few at a time, summing the results.
    pub(super) async fn per_partition<T, F, Fut>(
        &self,
        pks: impl IntoIterator<Item = String>,
        f: F,
    ) -> StoreResult<T>
    where
        T: Add<Output = T> + Default,
        F: Fn(String) -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        stream::iter(pks)
            .map(f)
            .buffer_unordered(SHARD_CONCURRENCY)
            .try_fold(T::default(), |acc, n| async move { Ok(acc + n) })
            .await
    }

    /// Removes every entry, chunk and chunk-set item of one partition.
    pub(super) async fn clear_shard(&self, pk: String) -> StoreResult<Removed> {
        let items = self.shard(&pk).await?;
        let orphan_chunks = items.orphans()?.iter().map(|s| u64::from(s.count)).sum();
        let mut chunks: HashMap<(String, String), u32> = items
            .sets
            .iter()
            .map(|s| ((s.hash.clone(), s.version.clone()), s.count))
            .collect();
        let mut deletes = Vec::new();
        for entry in &items.entries {
            let hash = entry_hash(entry)?;
            if let Some((version, count)) = Entries::chunks_of(hash, entry)? {
                chunks.entry((hash.to_owned(), version)).or_insert(count);
            }
            deletes.push(delete_request(keys::cache_entry(hash))?);
        }
        for set in &items.sets {
            deletes.push(delete_request(keys::cache_chunk_set(
                &set.hash,
                &set.version,
            ))?);
        }
        // Chunks first: a failure leaves what points to the rest.
        stream::iter(chunks)
            .map(|((hash, version), count)| async move {
                self.entries().chunks(&hash).delete(&version, count).await
            })
            .buffer_unordered(DELETE_CONCURRENCY)
            .try_collect::<()>()
            .await?;
        batch_write(&self.table, &self.gate.metrics, deletes).await?;
        Ok(Removed {
            entries: items.entries.len() as u64,
            orphan_chunks,
        })
    }

    /// Removes the expired entries of one partition (with their chunks), and chunks no
    /// entry references that were written more than [`ORPHAN_GRACE`] before `now`.
    pub(super) async fn cleanup_shard(&self, pk: String, now: Timestamp) -> StoreResult<Removed> {
        let items = self.shard(&pk).await?;
        let stale = now.saturating_sub(ORPHAN_GRACE);
        let orphans: Vec<ChunkSet> = items
            .orphans()?
            .into_iter()
            .filter(|s| s.written_at <= stale)
            .cloned()
            .collect();
        let orphan_chunks = orphans.iter().map(|s| u64::from(s.count)).sum();
        let mut expired = Vec::new();
        for entry in &items.entries {
            if Timestamp::from_millis(Fields::new(entry, "cache entry").n(EXP)?) <= now {
                expired.push(entry_hash(entry)?.to_owned());
            }
        }
        let entries = stream::iter(expired)
            .map(|hash| async move { self.delete_expired(&hash, now).await })
            .buffer_unordered(DELETE_CONCURRENCY)
            .try_fold(0, |acc, n| async move { Ok(acc + n) })
            .await?;
        stream::iter(orphans)
            .map(|set| async move { self.entries().remove(&set).await })
            .buffer_unordered(DELETE_CONCURRENCY)
            .try_collect::<()>()
            .await?;
        Ok(Removed {
            entries,
            orphan_chunks,
        })
    }

    /// Deletes the entry of `hash` if it is still expired at `now`, then its chunks.
    async fn delete_expired(&self, hash: &str, now: Timestamp) -> StoreResult<u64> {
        // Conditional: an entry refreshed since the query stays.
        let delete = self
            .table
            .delete_item(keys::cache_entry(hash))
            .condition_expression("#exp <= :now")
            .expression_attribute_names("#exp", EXP)
            .expression_attribute_values(":now", item::n(now.as_millis()))
            .return_values(ReturnValue::AllOld);
        match self.table.send_if(&self.gate.metrics, delete).await? {
            Condition::Met(out) => {
                if let Some(old) = out.attributes {
                    self.entries().delete_chunks_of(hash, &old).await?;
                }
                Ok(1)
            }
            Condition::Failed(_) => Ok(0),
        }
    }

    /// The counts of one partition.
    pub(super) async fn stats_shard(&self, pk: String, now: Timestamp) -> StoreResult<Stats> {
        let items = self.shard(&pk).await?;
        let mut stats = CacheStats::default();
        for entry in &items.entries {
            let fields = Fields::new(entry, "cache entry");
            stats.entries += 1;
            if key_resource(entry_hash(entry)?).is_none() {
                stats.unresourced_entries += 1;
            }
            if Timestamp::from_millis(fields.n(EXP)?) <= now {
                stats.expired_entries += 1;
            }
            stats.approximate_bytes += fields.opt_n(SZ)?.unwrap_or(0);
        }
        for set in items.orphans()? {
            stats.orphan_chunks += u64::from(set.count);
            stats.orphan_bytes += set.bytes;
        }
        Ok(Stats(stats))
    }
}

/// [`CacheStats`] that add up.
#[derive(Default)]
pub(super) struct Stats(pub(super) CacheStats);

impl Add for Stats {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        let (a, b) = (self.0, o.0);
        Self(CacheStats {
            entries: a.entries + b.entries,
            expired_entries: a.expired_entries + b.expired_entries,
            approximate_bytes: a.approximate_bytes + b.approximate_bytes,
            orphan_chunks: a.orphan_chunks + b.orphan_chunks,
            orphan_bytes: a.orphan_bytes + b.orphan_bytes,
            unresourced_entries: a.unresourced_entries + b.unresourced_entries,
        })
    }
}

fn delete_request(key: (String, String)) -> StoreResult<WriteRequest> {
    let delete = DeleteRequest::builder()
        .set_key(Some(item::key(key)))
        .build()
        .map_err(|e| StoreError::backend("building a cache delete", e))?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}

pub(super) fn entry_hash(entry: &Item) -> StoreResult<&str> {
    match entry.get(SK) {
        Some(AttributeValue::S(hash)) => Ok(hash),
        _ => Err(StoreError::Corrupt {
            key: "cache entry".to_owned(),
            reason: "sort key is not a string".to_owned(),
        }),
    }
}

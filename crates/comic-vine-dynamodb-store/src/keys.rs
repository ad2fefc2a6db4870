//! Every partition and sort key the stores write, in one place.
//!
//! | entity | PK | SK |
//! |---|---|---|
//! | cache entry of resource R (key `R/<hash>`) | `CACHE#<R>#<shard>` (16 shards per resource, from the key) | `R/<hash>` |
//! | cache entry without a resource (key without `/`) | `CACHE#<shard>` (16 shards, from the key) | `<hash>` |
//! | cache resource registry (one item) | `CACHERESOURCES` | `SET` (string set `R` of every R cached) |
//! | cache chunk (values over one item) | `CACHECHUNK#<key>` | `<version>#<n>` |
//! | cache chunk set (one per chunked value) | the entry's partition | `\u{1}CHUNKS#<key>#<version>` |
//! | dedupe job | `DEDUPE#<hash>` | `JOB` |
//! | dedupe result chunk | `DEDUPECHUNK#<hash>` | `<job id>#<n>` |
//! | rate-limit window | `RATELIMIT#<resource>` | `STATE` |
//! | adaptive state | `RATELIMIT#<resource>` | `ADAPTIVE` |
//!
//! A resource's cache entries share 16 partitions of their own, so that
//! `purge_resource` Queries those 16 only (never a Scan, never another resource's
//! items); the registry lists the resources, so that `clear`, `cleanup` and `stats`
//! Query 16 partitions per registered resource plus the 16 of entries without one.
//! An entry stays one item without index keys: a 1 KB value costs one write unit
//! (index projection `ALL` would write it twice). A store adds a resource to the
//! registry (an idempotent `ADD`) before its first write of that resource's entries,
//! once per table handle; `R` is the key's resource part (`%` and `/` in the name
//! percent-encoded, see `comic_vine_store::cache::resource_key`). A chunked value also has a small chunk-set item beside its
//! entry, written before its chunks: the shard Queries find every chunk through it, also
//! chunks no entry references (a writer that died before writing its entry). Its sort
//! key starts with a control character, which no hash contains, so it is never an
//! entry's.

use comic_vine_store::cache::key_resource;
use sha2::{Digest, Sha256};

/// Number of cache partitions.
pub const CACHE_SHARDS: u8 = 16;

/// The partition of cache shard `shard` of entries without a resource.
pub fn cache_shard_pk(shard: u8) -> String {
    format!("CACHE#{shard:02x}")
}

/// The partition of cache shard `shard` of the resource keys carry as `part`.
pub fn resource_shard_pk(part: &str, shard: u8) -> String {
    format!("CACHE#{part}#{shard:02x}")
}

/// The shard of a cache key.
pub fn cache_shard(hash: &str) -> u8 {
    Sha256::digest(hash.as_bytes())[0] % CACHE_SHARDS
}

/// The partition of the cache entry of `key`: its resource's shard, or a shard of the
/// entries without a resource.
pub fn cache_entry_pk(key: &str) -> String {
    let shard = cache_shard(key);
    match key_resource(key) {
        Some(part) => resource_shard_pk(part, shard),
        None => cache_shard_pk(shard),
    }
}

/// Primary key (PK, SK) of the cache entry of `key`.
pub fn cache_entry(key: &str) -> (String, String) {
    (cache_entry_pk(key), key.to_owned())
}

/// Primary key of the registry of the resources the table has cached entries of.
pub fn cache_resources() -> (String, String) {
    ("CACHERESOURCES".to_owned(), "SET".to_owned())
}

/// Partition of the chunks of a cache value.
pub fn cache_chunk_pk(hash: &str) -> String {
    format!("CACHECHUNK#{hash}")
}

/// The sort-key prefix of chunk-set items in the cache partitions.
pub const CHUNK_SET_PREFIX: &str = "\u{1}CHUNKS#";

/// Primary key (PK, SK) of the chunk-set item of `version` of the value of `hash`.
pub fn cache_chunk_set(hash: &str, version: &str) -> (String, String) {
    (
        cache_entry_pk(hash),
        format!("{CHUNK_SET_PREFIX}{hash}#{version}"),
    )
}

/// Primary key of the dedupe job of `hash`.
pub fn dedupe_job(hash: &str) -> (String, String) {
    (format!("DEDUPE#{hash}"), "JOB".to_owned())
}

/// Partition of the chunks of a dedupe result.
pub fn dedupe_chunk_pk(hash: &str) -> String {
    format!("DEDUPECHUNK#{hash}")
}

/// Primary key of the window state of `resource`.
pub fn rate_limit_state(resource: &str) -> (String, String) {
    (format!("RATELIMIT#{resource}"), "STATE".to_owned())
}

/// Primary key of the adaptive state of `resource`.
pub fn adaptive_state(resource: &str) -> (String, String) {
    (format!("RATELIMIT#{resource}"), "ADAPTIVE".to_owned())
}

/// Sort key of chunk `n` of `version` (zero-padded so chunks sort in order).
pub fn chunk_sk(version: &str, n: u32) -> String {
    format!("{version}#{n:05}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_spread_and_are_stable() {
        let mut seen = [0u32; CACHE_SHARDS as usize];
        for i in 0..1_600 {
            seen[cache_shard(&format!("hash-{i}")) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
        assert_eq!(cache_entry("abc"), cache_entry("abc"));
        assert_eq!(cache_shard_pk(15), "CACHE#0f");
        assert_eq!(chunk_sk("v1", 7), "v1#00007");
        let (pk, sk) = cache_chunk_set("abc", "v1");
        assert_eq!(pk, cache_entry("abc").0, "beside its entry");
        assert!(
            comic_vine_store::validate::key("hash", &sk).is_err(),
            "never a hash"
        );
    }

    #[test]
    fn a_resource_has_partitions_of_its_own() {
        let key = "volumes/0af3";
        let (pk, sk) = cache_entry(key);
        assert_eq!(pk, format!("CACHE#volumes#{:02x}", cache_shard(key)));
        assert_eq!(sk, key);
        assert_eq!(cache_chunk_set(key, "v1").0, pk, "beside its entry");
        assert_eq!(cache_entry("0af3").0.len(), "CACHE#00".len(), "legacy");
        assert_eq!(
            cache_entry_pk("/0af3"),
            cache_shard_pk(cache_shard("/0af3"))
        );
    }
}

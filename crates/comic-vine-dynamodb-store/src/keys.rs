//! Every partition and sort key the stores write, in one place.
//!
//! | entity | PK | SK |
//! |---|---|---|
//! | cache entry | `CACHE#<shard>` (16 shards, from the hash) | `<hash>` |
//! | cache chunk (values over one item) | `CACHECHUNK#<hash>` | `<version>#<n>` |
//! | cache chunk set (one per chunked value) | `CACHE#<shard>` (the entry's) | `\u{1}CHUNKS#<hash>#<version>` |
//! | dedupe job | `DEDUPE#<hash>` | `JOB` |
//! | dedupe result chunk | `DEDUPECHUNK#<hash>` | `<job id>#<n>` |
//! | rate-limit window | `RATELIMIT#<resource>` | `STATE` |
//! | adaptive state | `RATELIMIT#<resource>` | `ADAPTIVE` |
//!
//! Cache entries share 16 partitions so that `clear`, `cleanup` and `stats` Query those
//! partitions only (never a Scan, never another store's items), while an entry stays one
//! item without index keys: a 1 KB value costs one write unit (index projection `ALL`
//! would write it twice). A chunked value also has a small chunk-set item beside its
//! entry, written before its chunks: the shard Queries find every chunk through it, also
//! chunks no entry references (a writer that died before writing its entry). Its sort
//! key starts with a control character, which no hash contains, so it is never an
//! entry's.

use sha2::{Digest, Sha256};

/// Number of cache partitions.
pub const CACHE_SHARDS: u8 = 16;

/// The partition of cache shard `shard`.
pub fn cache_shard_pk(shard: u8) -> String {
    format!("CACHE#{shard:02x}")
}

/// The shard of a cache hash.
pub fn cache_shard(hash: &str) -> u8 {
    Sha256::digest(hash.as_bytes())[0] % CACHE_SHARDS
}

/// Primary key (PK, SK) of the cache entry of `hash`.
pub fn cache_entry(hash: &str) -> (String, String) {
    (cache_shard_pk(cache_shard(hash)), hash.to_owned())
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
        cache_shard_pk(cache_shard(hash)),
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
}

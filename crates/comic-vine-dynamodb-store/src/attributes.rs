//! The names of the attributes this crate stores, one module per item kind, so a
//! layout can be read in one place. Keys and expiry are the seed table's
//! ([`PK`](crate::table::PK), [`SK`](crate::table::SK), [`TTL`](crate::table::TTL));
//! the cache's entries and chunk sets name theirs in `cache::entry` and
//! `cache::chunk_set`.

/// A state item of the core's state cell: a rate-limit window (`RATELIMIT#<resource>` /
/// `STATE`) or an adaptive state (`RATELIMIT#<resource>` / `ADAPTIVE`).
pub(crate) mod state {
    /// The state encoded by the core (`comic_vine_store::cell::encoding`), binary.
    pub(crate) const STATE: &str = "state";
    /// The version token of the last write (hexadecimal string).
    pub(crate) const VERSION: &str = "version";
    /// The last version tokens, newest first (packed numbers): how a write whose
    /// answer was lost is recognised.
    pub(crate) const RECENT_VERSIONS: &str = "recent_versions";
}

/// A dedupe job item (`DEDUPE#<hash>` / `JOB`).
pub(crate) mod job {
    /// The owner's job id (string).
    pub(crate) const JOB_ID: &str = "job_id";
    /// [`PENDING`], [`COMPLETED`] or [`FAILED`] (string).
    pub(crate) const STATUS: &str = "status";
    /// When the job was registered (epoch ms).
    pub(crate) const CREATED_AT: &str = "created_at";
    /// Until when the owner's lease runs (epoch ms).
    pub(crate) const LEASE_UNTIL: &str = "lease_until";
    /// When the job finished (epoch ms; finished jobs).
    pub(crate) const FINISHED_AT: &str = "finished_at";
    /// The failure message (failed jobs).
    pub(crate) const ERROR: &str = "error";
    /// The result's encoding (completed jobs).
    pub(crate) const ENCODING: &str = "encoding";
    /// The result's JSON length in bytes (completed jobs).
    pub(crate) const RAW_LEN: &str = "raw_len";
    /// The encoded result, when it fits in the item (binary).
    pub(crate) const VALUE: &str = "value";
    /// Else the number of result chunks under `DEDUPECHUNK#<hash>`, version = job id.
    pub(crate) const CHUNK_COUNT: &str = "chunk_count";
    /// True when the result is the cache entry of the same hash (`complete_and_cache`).
    pub(crate) const IN_CACHE: &str = "in_cache";

    /// [`STATUS`] of a job whose owner is at work.
    pub(crate) const PENDING: &str = "pending";
    /// [`STATUS`] of a job with a result.
    pub(crate) const COMPLETED: &str = "completed";
    /// [`STATUS`] of a job that failed.
    pub(crate) const FAILED: &str = "failed";
}

use comic_vine_store::StoreError;

use crate::item::Item;
use crate::table::{PK, SK, TTL};

/// [`StoreError::OlderLayout`] if `item` lacks `attribute`, which every item of its
/// kind written by this version has (so an older version wrote it); `remedy` says what
/// to do.
pub(crate) fn require_current(
    item: &Item,
    attribute: &str,
    what: &str,
    remedy: &str,
) -> Result<(), StoreError> {
    if item.contains_key(attribute) {
        Ok(())
    } else {
        Err(older_layout(item, what, remedy))
    }
}

/// The [`StoreError::OlderLayout`] of `item` (named `what`), listing its attributes.
pub(crate) fn older_layout(item: &Item, what: &str, remedy: &str) -> StoreError {
    let mut found: Vec<&str> = item
        .keys()
        .map(String::as_str)
        .filter(|k| ![PK, SK, TTL].contains(k))
        .collect();
    found.sort_unstable();
    StoreError::OlderLayout {
        item: what.to_owned(),
        found: if found.is_empty() {
            "none".to_owned()
        } else {
            found.join(", ")
        },
        remedy: remedy.to_owned(),
    }
}

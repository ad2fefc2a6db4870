//! The near cache over the in-memory store: the conformance suite, near hits that send
//! no request, the maximum local age, the size bounds, expiry and racing writes.

use comic_vine_store::conformance::near::{
    deletion_elsewhere_is_seen_at_the_max_age, short_ttl_expires_before_the_max_age,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use comic_vine_store::cache::{NearCache, Restamp, resource_key};
use comic_vine_store::conformance::{CacheBackend, Setup};
use comic_vine_store::memory::MemoryCacheStore;
use comic_vine_store::{
    CacheEntry, CacheStats, CacheStore, Clock, Freshness, HealthStatus, ManualClock, StoreResult,
};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// Each factory call: a new "process", i.e. a new near cache over a new handle on the
/// one in-memory store.
#[derive(Default)]
struct NearBackend {
    shared: std::sync::OnceLock<MemoryCacheStore>,
}

#[async_trait]
impl CacheBackend for NearBackend {
    async fn cache(&self, setup: &Setup) -> StoreResult<Arc<dyn CacheStore<Value>>> {
        let base = match self.shared.get() {
            Some(b) => b,
            None => {
                let b = MemoryCacheStore::with_config(setup.cache.clone())?;
                self.shared.get_or_init(|| b)
            }
        };
        let near = NearCache::builder(base.with_clock(setup.store_clock()))
            .clock(setup.store_clock())
            .build()?;
        Ok(Arc::new(near))
    }
}

comic_vine_store::cache_conformance_tests!(async { NearBackend::default() });

/// The memory store, counting reads; a read can be held at a gate.
#[derive(Clone)]
struct Counting {
    inner: MemoryCacheStore,
    reads: Arc<AtomicU64>,
    gate: Arc<Semaphore>,
    /// A JSON length to report instead of the store's own.
    claimed_len: Option<u64>,
}

impl Counting {
    fn new(inner: MemoryCacheStore) -> Self {
        Self {
            inner,
            reads: Arc::default(),
            gate: Arc::new(Semaphore::new(GATE as usize)),
            claimed_len: None,
        }
    }

    fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl CacheStore<Value> for Counting {
    async fn get_entry(&self, hash: &str) -> StoreResult<Option<CacheEntry<Value>>> {
        let mut found = self.inner.get_entry(hash).await;
        if let (Ok(Some(entry)), Some(len)) = (&mut found, self.claimed_len) {
            entry.json_len = Some(len);
        }
        self.reads.fetch_add(1, Ordering::SeqCst);
        drop(self.gate.acquire().await.unwrap());
        found
    }
    async fn set_entry(&self, hash: &str, value: &Value, f: Freshness) -> StoreResult<()> {
        self.inner.set_entry(hash, value, f).await
    }
    async fn restamp(&self, hash: &str, restamp: Restamp<'_>) -> StoreResult<bool> {
        self.inner.restamp(hash, restamp).await
    }
    async fn delete(&self, hash: &str) -> StoreResult<()> {
        self.inner.delete(hash).await
    }
    async fn clear(&self) -> StoreResult<u64> {
        CacheStore::<Value>::clear(&self.inner).await
    }
    async fn cleanup(&self) -> StoreResult<u64> {
        CacheStore::<Value>::cleanup(&self.inner).await
    }
    async fn purge_resource(&self, resource: &str) -> StoreResult<u64> {
        CacheStore::<Value>::purge_resource(&self.inner, resource).await
    }
    async fn stats(&self) -> StoreResult<CacheStats> {
        CacheStore::<Value>::stats(&self.inner).await
    }
    async fn health_check(&self) -> StoreResult<HealthStatus> {
        CacheStore::<Value>::health_check(&self.inner).await
    }
}

/// Permits at the read gate: holding them all holds every read.
const GATE: u32 = 1_000;
const AGE: Duration = Duration::from_secs(5);
const HOUR: Duration = Duration::from_secs(3600);

/// A shared store on a manual clock, and a near cache over it on the same clock.
fn setup() -> (ManualClock, Counting, NearCache<Counting>) {
    let clock = ManualClock::starting_now();
    let shared = Counting::new(MemoryCacheStore::new().with_clock(Arc::new(clock.clone())));
    let near = near_over(&clock, shared.clone());
    (clock, shared, near)
}

fn near_over(clock: &ManualClock, shared: Counting) -> NearCache<Counting> {
    NearCache::builder(shared)
        .max_local_age(AGE)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_near_hit_sends_no_request() {
    let (_, shared, near) = setup();
    near.set("k", &json!({"id": 1}), Some(HOUR)).await.unwrap();
    assert_eq!(near.get("k").await.unwrap(), Some(json!({"id": 1})));
    assert_eq!(shared.reads(), 1);
    for _ in 0..10 {
        assert_eq!(near.get("k").await.unwrap(), Some(json!({"id": 1})));
    }
    assert_eq!(shared.reads(), 1, "ten near hits, no further read");
    assert_eq!(near.get("absent").await.unwrap(), None);
    assert_eq!(near.get("absent").await.unwrap(), None);
    assert_eq!(shared.reads(), 3, "absence is never kept locally");
}

#[tokio::test]
async fn another_process_delete_is_seen_within_the_max_local_age() {
    let (clock, shared, near) = setup();
    let other = near_over(&clock, shared.clone());
    near.set("k", &json!("v1"), Some(HOUR)).await.unwrap();
    assert_eq!(near.get("k").await.unwrap(), Some(json!("v1")));
    let copy = ("k", json!("v1"));
    deletion_elsewhere_is_seen_at_the_max_age(&near, &other, &clock, AGE, copy).await;
    // A replacement by another process is seen the same way.
    near.set("k", &json!("v1"), Some(HOUR)).await.unwrap();
    near.get("k").await.unwrap();
    other.set("k", &json!("v2"), Some(HOUR)).await.unwrap();
    clock.advance(AGE);
    assert_eq!(near.get("k").await.unwrap(), Some(json!("v2")));
}

#[tokio::test]
async fn writes_through_the_near_cache_reach_both_sides() {
    let (_, shared, near) = setup();
    near.set("k", &json!(1), Some(HOUR)).await.unwrap();
    near.get("k").await.unwrap();
    near.set("k", &json!(2), Some(HOUR)).await.unwrap();
    assert_eq!(near.get("k").await.unwrap(), Some(json!(2)));
    assert_eq!(shared.inner.get("k").await.unwrap(), Some(json!(2)));
    let fresh = Freshness::fresh_for(Some(HOUR));
    assert!(near.touch("k", fresh).await.unwrap());
    assert_eq!(near.get("k").await.unwrap(), Some(json!(2)));
    near.delete("k").await.unwrap();
    assert_eq!(near.get("k").await.unwrap(), None);
    assert_eq!(shared.inner.get("k").await.unwrap(), None);
    near.set("a", &json!("a"), Some(HOUR)).await.unwrap();
    near.get("a").await.unwrap();
    assert_eq!(near.clear().await.unwrap(), 1);
    assert_eq!(near.get("a").await.unwrap(), None);
    assert_eq!(near.local_stats().await.entries, 0);
}

#[tokio::test]
async fn expired_and_stale_entries_are_never_served_locally() {
    let (clock, shared, near) = setup();
    short_ttl_expires_before_the_max_age(&near, &clock).await;
    let reads = shared.reads();
    let swr =
        Freshness::fresh_for(Some(Duration::from_secs(1))).with_stale_for(Duration::from_secs(60));
    near.set_entry("swr", &json!("w"), swr).await.unwrap();
    assert!(near.get_entry("swr").await.unwrap().is_some());
    near.get_entry("swr").await.unwrap();
    assert_eq!(shared.reads(), reads + 1, "a near hit while fresh");
    clock.advance(Duration::from_secs(1));
    for _ in 0..3 {
        let e = near.get_entry("swr").await.unwrap().unwrap();
        assert!(!e.is_fresh(clock.now()));
    }
    assert_eq!(
        shared.reads(),
        reads + 4,
        "every stale read goes to the shared store"
    );
}

#[tokio::test]
async fn a_value_is_weighed_by_the_json_length_the_shared_store_reports() {
    let clock = ManualClock::starting_now();
    let memory = MemoryCacheStore::new().with_clock(Arc::new(clock.clone()));
    let near_over = |shared: &Counting| {
        NearCache::builder(shared.clone())
            .max_bytes(4_000)
            .max_entries(4_000)
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap()
    };
    let honest = Counting::new(memory.clone());
    let near = near_over(&honest);
    near.set("k", &json!({"id": 1}), Some(HOUR)).await.unwrap();
    near.get("k").await.unwrap();
    let stats = near.local_stats().await;
    // The key (1 byte) and `{"id":1}` (8 bytes, as the memory store reports it).
    assert_eq!((stats.entries, stats.weighted_bytes), (1, 9));

    // A store that reports 5,000 bytes for the same value: over the budget, not kept,
    // though its own serialization (8 bytes) would fit.
    let mut claiming = Counting::new(memory);
    claiming.claimed_len = Some(5_000);
    let near = near_over(&claiming);
    near.get("k").await.unwrap();
    near.get("k").await.unwrap();
    assert_eq!(claiming.reads(), 2, "nothing was kept locally");
    assert_eq!(near.local_stats().await.entries, 0);
}

#[tokio::test]
async fn the_byte_and_entry_bounds_hold() {
    let clock = ManualClock::starting_now();
    let shared = Counting::new(MemoryCacheStore::new().with_clock(Arc::new(clock.clone())));
    let near = NearCache::builder(shared.clone())
        .max_bytes(4_000)
        .max_entries(1_000)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let big = json!("x".repeat(1_000));
    for i in 0..20 {
        let key = format!("k{i}");
        near.set(&key, &big, Some(HOUR)).await.unwrap();
        near.get(&key).await.unwrap();
    }
    let stats = near.local_stats().await;
    assert!(stats.weighted_bytes <= 4_000, "{stats:?}");
    assert!(stats.entries <= 3 && stats.entries >= 1, "{stats:?}");
    let reads = shared.reads();
    for i in 0..20 {
        near.get(&format!("k{i}")).await.unwrap();
    }
    assert!(
        shared.reads() - reads >= 17,
        "evicted entries are read again"
    );
    // A value alone over the budget is never kept.
    near.set("huge", &json!("y".repeat(5_000)), Some(HOUR))
        .await
        .unwrap();
    near.get("huge").await.unwrap();
    let reads = shared.reads();
    near.get("huge").await.unwrap();
    assert_eq!(shared.reads(), reads + 1);

    let few = NearCache::builder(shared.clone())
        .max_entries(3)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    for i in 0..20 {
        few.get(&format!("k{i}")).await.unwrap();
    }
    assert!(few.local_stats().await.entries <= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_racing_a_delete_keeps_nothing() {
    let (_, shared, near) = setup();
    near.set("k", &json!("old"), Some(HOUR)).await.unwrap();
    // Hold the next read after it has read "old" from the shared store.
    let held = shared.gate.acquire_many(GATE).await.unwrap();
    let reader = tokio::spawn({
        let near = near.clone();
        async move { near.get("k").await.unwrap() }
    });
    while shared.reads() == 0 {
        tokio::task::yield_now().await;
    }
    near.delete("k").await.unwrap();
    drop(held);
    assert_eq!(
        reader.await.unwrap(),
        Some(json!("old")),
        "read before the delete"
    );
    assert_eq!(
        near.get("k").await.unwrap(),
        None,
        "the racing read kept nothing"
    );
}

#[tokio::test]
async fn zero_bounds_are_refused() {
    let (_, shared, _) = setup();
    assert!(
        NearCache::builder(shared.clone())
            .max_entries(0)
            .build()
            .is_err()
    );
    assert!(
        NearCache::builder(shared.clone())
            .max_bytes(0)
            .build()
            .is_err()
    );
    let zero = NearCache::builder(shared).max_local_age(Duration::ZERO);
    assert!(zero.build().is_err());
}

#[tokio::test]
async fn a_purge_drops_the_local_copies_of_that_resource_only() {
    let (_, shared, near) = setup();
    let (a, b) = (resource_key("volumes", "0a"), resource_key("issues", "0b"));
    near.set(&a, &json!("a"), Some(HOUR)).await.unwrap();
    near.set(&b, &json!("b"), Some(HOUR)).await.unwrap();
    for _ in 0..2 {
        assert_eq!(near.get(&a).await.unwrap(), Some(json!("a")));
        assert_eq!(near.get(&b).await.unwrap(), Some(json!("b")));
    }
    assert_eq!(shared.reads(), 2, "the second reads were near hits");
    assert_eq!(near.purge_resource("volumes").await.unwrap(), 1);
    assert_eq!(
        near.get(&a).await.unwrap(),
        None,
        "not served from a local copy"
    );
    assert_eq!(shared.reads(), 3);
    assert_eq!(near.get(&b).await.unwrap(), Some(json!("b")));
    assert_eq!(shared.reads(), 3, "the other resource's copy is kept");
}

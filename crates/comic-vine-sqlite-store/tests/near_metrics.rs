//! A near cache in front of the SQLite cache, counted through the `metrics` facade (a
//! test binary of its own: the recorder is installed for the whole process): near hits
//! run no SQLite call, another process's delete is seen at the max local age.

use comic_vine_store::conformance::near::{
    deletion_elsewhere_is_seen_at_the_max_age, short_ttl_expires_before_the_max_age,
};
use std::sync::Arc;
use std::time::Duration;

use comic_vine_sqlite_store::{SqliteCacheStore, SqliteStore};
use comic_vine_store::cache::NearCache;
use comic_vine_store::cache::near::{NEAR_HITS_COUNTER, NEAR_MISSES_COUNTER};
use comic_vine_store::{CacheStore, ManualClock};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use serde_json::{Value, json};

type Snap = (
    metrics_util::CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
);

const AGE: Duration = Duration::from_secs(5);
const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

#[tokio::test]
async fn near_hits_run_no_sqlite_call_and_a_delete_elsewhere_is_seen_at_the_max_age() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("first recorder of this process");
    // One snapshot per checkpoint (taking one drains the counters).
    let snapshot = || snapshotter.snapshot().into_vec();
    let counter = |snap: &[Snap], name: &str, label: Option<&str>| -> u64 {
        snap.iter()
            .filter(|(k, ..)| {
                k.key().name() == name
                    && label.is_none_or(|l| k.key().labels().any(|x| x.value() == l))
            })
            .map(|(.., v)| match v {
                DebugValue::Counter(n) => *n,
                other => panic!("{name}: {other:?}"),
            })
            .sum()
    };

    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    let clock = ManualClock::starting_now();
    let open = || async {
        let db = SqliteStore::builder(&path)
            .clock(Arc::new(clock.clone()))
            .open()
            .await
            .unwrap();
        SqliteCacheStore::<Value>::new(&db)
    };
    let (mine, other) = (open().await, open().await);
    let near = NearCache::builder(mine)
        .max_local_age(AGE)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    near.set("k", &json!({"id": 1}), HOUR).await.unwrap();
    for _ in 0..11 {
        assert_eq!(near.get("k").await.unwrap(), Some(json!({"id": 1})));
    }
    let gets = "comic_vine_sqlite_operations_total";
    let snap = snapshot();
    assert_eq!(
        counter(&snap, gets, Some("cache.get")),
        1,
        "one read, ten near hits"
    );
    assert_eq!(counter(&snap, NEAR_HITS_COUNTER, None), 10);
    assert_eq!(counter(&snap, NEAR_MISSES_COUNTER, None), 1);

    let copy = ("k", json!({"id": 1}));
    deletion_elsewhere_is_seen_at_the_max_age(&near, &other, &clock, AGE, copy).await;
    let snap = snapshot();
    assert_eq!(
        counter(&snap, gets, Some("cache.get")),
        1,
        "since the last snapshot"
    );
    assert_eq!(counter(&snap, NEAR_HITS_COUNTER, None), 1);

    short_ttl_expires_before_the_max_age(&near, &clock).await;
}

//! The stores report through the `metrics` facade (any exporter can be installed): one
//! test binary of its own, because a recorder is installed for the whole process.

use std::time::Duration;

use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::local::{DynamoDbLocal, TestTable};
use comic_vine_dynamodb_store::{DynamoDbCacheStore, DynamoDbConfig, Table};
use comic_vine_store::CacheStore;
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::{Value, json};

/// One snapshot of the recorder (taking it drains the values).
type Snapshot = Vec<(CompositeKey, DebugValue)>;

fn value_of<'a>(
    snapshot: &'a Snapshot,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'a DebugValue> {
    snapshot.iter().find_map(|(key, value)| {
        let key = key.key();
        let matches = key.name() == name
            && labels
                .iter()
                .all(|(k, v)| key.labels().any(|l| l.key() == *k && l.value() == *v));
        matches.then_some(value)
    })
}

/// What the recorder holds now (taking it drains the values).
fn take(snapshotter: &Snapshotter) -> Snapshot {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| (key, value))
        .collect()
}

/// A cache store on table `name` of DynamoDB Local.
fn cache_on(test_table: &TestTable, name: &str) -> DynamoDbCacheStore<Value> {
    let config = DynamoDbConfig::builder()
        .table_name(name)
        .client(test_table.client().clone())
        .build()
        .unwrap();
    DynamoDbCacheStore::new(&Table::new(test_table.client().clone(), config))
}

fn counter(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> u64 {
    match value_of(snapshot, name, labels) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{name} {labels:?}: {other:?}"),
    }
}

#[tokio::test]
async fn operations_requests_units_and_errors_reach_the_facade() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("first recorder of this process");

    let local = DynamoDbLocal::shared().expect("DynamoDB Local");
    let test_table = local.fresh_table().await.unwrap();
    let cache = cache_on(&test_table, test_table.name());
    cache
        .set("k", &json!({"id": 1}), Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(cache.get("k").await.unwrap().is_some());
    assert!(cache.get("missing").await.unwrap().is_none());

    let snapshot = take(&snapshotter);
    let cache_get = [("store", "cache"), ("op", "get")];
    assert_eq!(
        counter(&snapshot, "comic_vine_store_operations_total", &cache_get),
        2
    );
    assert_eq!(
        counter(
            &snapshot,
            "comic_vine_store_operations_total",
            &[("store", "cache"), ("op", "set")]
        ),
        1
    );
    assert_eq!(
        counter(
            &snapshot,
            "comic_vine_store_requests_total",
            &[("store", "cache")]
        ),
        3
    );
    assert_eq!(
        counter(
            &snapshot,
            "comic_vine_store_write_units_total",
            &[("store", "cache")]
        ),
        1_000
    );
    match value_of(&snapshot, "comic_vine_store_operation_seconds", &cache_get) {
        Some(DebugValue::Histogram(samples)) => assert_eq!(samples.len(), 2),
        other => panic!("{other:?}"),
    }

    let missing = cache_on(&test_table, "no-such-table");
    assert!(missing.get("k").await.is_err());
    let snapshot = take(&snapshotter);
    let errors = [
        ("store", "cache"),
        ("op", "get"),
        ("kind", "table_not_found"),
    ];
    assert_eq!(
        counter(&snapshot, "comic_vine_store_errors_total", &errors),
        1
    );
    // The same counts, without any exporter, from the store itself.
    assert_eq!(missing.metrics().errors.get("table_not_found"), Some(&1));
}

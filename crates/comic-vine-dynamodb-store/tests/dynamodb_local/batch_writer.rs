//! `BatchWriter` against DynamoDB Local: buffered writes arrive, failures come back.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use comic_vine_dynamodb_store::aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::{AttributeValue, Select};
use comic_vine_dynamodb_store::local::unique_table_name;
use comic_vine_dynamodb_store::{
    BatchWrite, BatchWriter, BatchWriterConfig, DynamoDbConfig, FlushReport, PK, SK, Table, WriteOp,
};
use comic_vine_store::{StoreError, StoreResult};
use proptest::prelude::*;

use super::backend::{DynamoBackend, partition_query};

type Attributes = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn key(pk: &str, n: usize) -> Attributes {
    HashMap::from([
        (PK.to_owned(), s(pk)),
        (SK.to_owned(), s(format!("n#{n:03}"))),
    ])
}

fn put(pk: &str, n: usize, value: &str) -> WriteOp {
    let mut item = key(pk, n);
    item.insert("V".to_owned(), s(value));
    WriteOp::Put(item)
}

/// A handle on `name` through the test server's client.
fn handle(backend: &DynamoBackend, name: &str) -> Table {
    let client = backend.table.client().clone();
    let config = DynamoDbConfig::builder()
        .table_name(name)
        .client(client.clone())
        .build()
        .expect("config");
    Table::new(client, config)
}

/// A fresh table (dropped with the backend) and a handle on it.
async fn fresh() -> (DynamoBackend, Table) {
    let backend = DynamoBackend::fresh().await;
    let table = handle(&backend, backend.table.name());
    (backend, table)
}

/// Adds a put of `V = "v"` for each of `keys` in partition `pk` to `writer`.
async fn add_puts(writer: &BatchWriter, pk: &str, keys: impl IntoIterator<Item = usize>) {
    for n in keys {
        writer.add(put(pk, n, "v")).await.expect("add");
    }
}

/// A consistent Query of partition `pk`.
fn partition(table: &Table, pk: &str) -> QueryFluentBuilder {
    partition_query(table.client(), table.name(), pk)
}

/// The items of partition `pk`, read consistently.
async fn items(table: &Table, pk: &str) -> Vec<Attributes> {
    let out = partition(table, pk).send().await.expect("Query");
    assert!(out.last_evaluated_key.is_none(), "one page is enough here");
    out.items.unwrap_or_default()
}

/// How many items partition `pk` holds, read consistently.
async fn count(table: &Table, pk: &str) -> i32 {
    let query = partition(table, pk).select(Select::Count);
    query.send().await.expect("Query").count
}

#[tokio::test]
async fn sixty_puts_then_flush_are_all_readable() {
    let (_backend, table) = fresh().await;
    let writer = BatchWriter::new(&table);

    add_puts(&writer, "bw#sixty", 0..60).await;
    // Two full batches went out as they filled up; ten writes wait for the flush.
    assert_eq!(writer.buffered(), 10);
    let report = writer.flush().await.expect("flush");
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(report.written, 60);
    assert_eq!(writer.buffered(), 0);
    assert_eq!(count(&table, "bw#sixty").await, 60);

    let metrics = writer.metrics();
    assert_eq!(metrics.requests, 3);
    assert_eq!(metrics.operations, 3);
    assert!(metrics.write_units >= 60.0, "{metrics:?}");
    assert!(metrics.errors.is_empty());

    let again = writer.flush().await.expect("flush");
    assert_eq!((again.written, again.failed_count()), (0, 0));
    assert!(writer.close().await.is_complete());
}

#[tokio::test]
async fn a_missing_table_returns_every_op() {
    let backend = DynamoBackend::fresh().await;
    let missing = handle(&backend, &unique_table_name("missing"));
    let writer = BatchWriter::new(&missing);

    let ops: Vec<WriteOp> = (0..30)
        .map(|n| {
            if n % 3 == 0 {
                WriteOp::Delete(key("bw#missing", n))
            } else {
                put("bw#missing", n, "v")
            }
        })
        .collect();
    for op in ops.clone() {
        writer
            .add(op)
            .await
            .expect("add keeps failures for the report");
    }
    let report = writer.flush().await.expect("flush");
    assert_eq!(report.written, 0);
    assert_eq!(report.failed.len(), 2, "a batch of 25 and one of 5");
    for failed in &report.failed {
        assert!(
            matches!(&failed.error, StoreError::TableNotFound { table } if table == missing.name()),
            "{:?}",
            failed.error
        );
    }
    assert_eq!(report.into_failed_ops(), ops);
    assert_eq!(writer.metrics().errors.get("table_not_found"), Some(&2));
    assert!(writer.close().await.is_complete(), "already reported");
}

#[tokio::test]
async fn deletes_remove_items() {
    let (_backend, table) = fresh().await;
    let writer = BatchWriter::new(&table);

    add_puts(&writer, "bw#delete", 0..10).await;
    assert_eq!(writer.flush().await.expect("flush").written, 10);
    for n in (0..10).step_by(2) {
        writer
            .add(WriteOp::Delete(key("bw#delete", n)))
            .await
            .expect("add");
    }
    let report = writer.close().await;
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(report.written, 5);

    let mut left: Vec<String> = items(&table, "bw#delete")
        .await
        .iter()
        .map(|item| item[SK].as_s().expect("SK is a string").clone())
        .collect();
    left.sort();
    assert_eq!(left, ["n#001", "n#003", "n#005", "n#007", "n#009"]);
}

#[tokio::test]
async fn writes_to_one_key_apply_in_order() {
    let (_backend, table) = fresh().await;
    let writer = BatchWriter::new(&table);

    // DynamoDB rejects a request holding one key twice: the writer must split them.
    for op in [
        put("bw#order", 1, "first"),
        put("bw#order", 2, "kept"),
        WriteOp::Delete(key("bw#order", 1)),
        put("bw#order", 3, "gone"),
        put("bw#order", 1, "last"),
        WriteOp::Delete(key("bw#order", 3)),
    ] {
        writer.add(op).await.expect("add");
    }
    let report = writer.flush().await.expect("flush");
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(report.written, 6);

    let mut found: Vec<(String, String)> = items(&table, "bw#order")
        .await
        .iter()
        .map(|item| {
            let sk = item[SK].as_s().expect("SK").clone();
            (sk, item["V"].as_s().expect("V").clone())
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("n#001".to_owned(), "last".to_owned()),
            ("n#002".to_owned(), "kept".to_owned())
        ]
    );
}

#[tokio::test]
async fn close_then_add_is_a_typed_error() {
    let (_backend, table) = fresh().await;
    let writer = BatchWriter::new(&table);

    add_puts(&writer, "bw#close", 0..3).await;
    let report = writer.close().await;
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(report.written, 3, "close flushes what is buffered");
    assert_eq!(count(&table, "bw#close").await, 3);

    let err = writer.add(put("bw#close", 9, "v")).await.unwrap_err();
    assert!(matches!(err, StoreError::Closed), "{err:?}");
    assert!(matches!(writer.flush().await, Err(StoreError::Closed)));
    assert_eq!(writer.buffered(), 0);
    let again = writer.close().await;
    assert_eq!((again.written, again.failed_count()), (0, 0));
    assert_eq!(count(&table, "bw#close").await, 3);
}

#[tokio::test]
async fn the_flush_interval_writes_without_an_explicit_flush() {
    let (_backend, table) = fresh().await;
    let config = BatchWriterConfig::default()
        .with_batch_size(10)
        .with_flush_interval(Duration::from_millis(50));
    let writer = BatchWriter::with_config(&table, config).expect("writer");

    add_puts(&writer, "bw#interval", 0..4).await;
    let mut waited = Duration::ZERO;
    while count(&table, "bw#interval").await < 4 {
        assert!(waited < Duration::from_secs(10), "no background flush");
        tokio::time::sleep(Duration::from_millis(25)).await;
        waited += Duration::from_millis(25);
    }
    assert_eq!(writer.buffered(), 0);
    // The background flush's outcome is in the next report.
    let report = writer.close().await;
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(report.written, 4);
}

#[tokio::test]
async fn a_smaller_batch_size_sends_smaller_requests() {
    let (_backend, table) = fresh().await;
    let config = BatchWriterConfig::default().with_batch_size(7);
    let writer = BatchWriter::with_config(&table, config).expect("writer");

    add_puts(&writer, "bw#small", 0..20).await;
    assert_eq!(writer.buffered(), 6);
    let report = writer.close().await;
    assert_eq!(report.written, 20);
    assert_eq!(writer.metrics().requests, 3);
    assert_eq!(count(&table, "bw#small").await, 20);

    let err = BatchWriter::with_config(&table, BatchWriterConfig::default().with_batch_size(26))
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidConfig { .. }), "{err:?}");
}

// A user write function (the seed's `new BatchWriter(config, writeBatch)`).

/// What a recording write function saw: every call's ops, in call order, with the
/// (virtual) time of the call.
type Calls = Arc<Mutex<Vec<(tokio::time::Instant, Vec<WriteOp>)>>>;

/// A write function that records its calls (but one that panics) and leaves
/// unprocessed what `leave` picks from each call's ops (given how many calls came
/// before, panicked ones included).
fn recording(
    leave: impl Fn(usize, &[WriteOp]) -> StoreResult<Vec<WriteOp>> + Send + Sync + 'static,
) -> (impl BatchWrite, Calls) {
    let calls: Calls = Arc::default();
    let seen = Arc::clone(&calls);
    let made = std::sync::atomic::AtomicUsize::new(0);
    let write = move |ops: Vec<WriteOp>| {
        let before = made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = leave(before, &ops); // may panic: not while holding the lock
        seen.lock()
            .unwrap()
            .push((tokio::time::Instant::now(), ops));
        async move { result }
    };
    (write, calls)
}

/// Writes `ops` through `write` with `config` and closes the writer: its report.
async fn write_through(
    write: impl BatchWrite,
    config: BatchWriterConfig,
    ops: &[WriteOp],
) -> FlushReport {
    let writer = BatchWriter::with_writer(write, config).unwrap();
    for op in ops {
        writer
            .add(op.clone())
            .await
            .expect("add keeps failures for the report");
    }
    writer.close().await
}

fn ops_of(calls: &Calls) -> Vec<Vec<WriteOp>> {
    calls
        .lock()
        .unwrap()
        .iter()
        .map(|(_, ops)| ops.clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the batch size and however keys repeat, the function gets every op once,
    /// in order, in batches of at most the batch size with no key twice in one.
    #[test]
    fn a_user_function_gets_batches_of_at_most_batch_size_in_order(
        size in 1usize..=25,
        picks in proptest::collection::vec((0usize..12, any::<bool>()), 0..90),
    ) {
        let ops: Vec<WriteOp> = picks
            .iter()
            .map(|&(n, delete)| if delete { WriteOp::Delete(key("fn", n)) } else { put("fn", n, "v") })
            .collect();
        let (write, calls) = recording(|_, _| Ok(Vec::new()));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let config = BatchWriterConfig::default().with_batch_size(size);
        let report = runtime.block_on(write_through(write, config, &ops));
        prop_assert!(report.is_complete());
        prop_assert_eq!(report.written, ops.len());
        let batches = ops_of(&calls);
        prop_assert_eq!(batches.concat(), ops);
        for batch in &batches {
            prop_assert!(!batch.is_empty() && batch.len() <= size, "{}", batch.len());
            let keys: HashSet<_> = batch.iter().map(op_key).collect();
            prop_assert_eq!(keys.len(), batch.len(), "a key twice in one batch");
        }
    }
}

fn op_key(op: &WriteOp) -> String {
    let (WriteOp::Put(a) | WriteOp::Delete(a)) = op;
    format!("{:?}", a.get(SK))
}

#[tokio::test(start_paused = true)]
async fn a_user_functions_unprocessed_writes_are_retried_with_backoff() {
    // Each call leaves its last two writes undone, until a call has two or fewer.
    let (write, calls) = recording(|_, ops| {
        Ok(if ops.len() <= 2 {
            Vec::new()
        } else {
            ops[ops.len() - 2..].to_vec()
        })
    });
    let config = BatchWriterConfig::default()
        .with_batch_size(6)
        .with_backoff(Duration::from_millis(40), Duration::from_secs(1));
    let ops: Vec<WriteOp> = (0..6).map(|n| put("fn#retry", n, "v")).collect();
    let report = write_through(write, config, &ops).await;
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(report.written, 6);
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "the batch, then its two unprocessed writes");
    assert_eq!(calls[0].1, ops);
    assert_eq!(
        calls[1].1,
        ops[4..].to_vec(),
        "exactly what was left, in order"
    );
    let waited = calls[1].0 - calls[0].0;
    assert!(
        waited >= Duration::from_millis(20) && waited <= Duration::from_millis(40),
        "the first retry waits half to all of the base delay: {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn writes_a_user_function_never_takes_are_reported_after_the_last_attempt() {
    let (write, calls) = recording(|_, ops| Ok(ops.to_vec()));
    let config = BatchWriterConfig::default()
        .with_max_attempts(4)
        .with_backoff(Duration::from_millis(10), Duration::from_millis(15));
    let ops: Vec<WriteOp> = (0..3).map(|n| put("fn#never", n, "v")).collect();
    let report = write_through(write, config, &ops).await;
    assert_eq!(report.written, 0);
    assert_eq!(calls.lock().unwrap().len(), 4, "max_attempts calls");
    assert!(matches!(
        report.failed[0].error,
        StoreError::Throttled { .. }
    ));
    let waits: Vec<Duration> = {
        let calls = calls.lock().unwrap();
        calls.windows(2).map(|w| w[1].0 - w[0].0).collect()
    };
    assert!(
        waits.iter().all(|w| *w >= Duration::from_millis(5)),
        "{waits:?}"
    );
    assert_eq!(report.into_failed_ops(), ops);
}

#[tokio::test]
async fn a_failing_user_functions_ops_are_in_the_report() {
    // Batches of 4: the second call fails; a third batch panics.
    let (write, calls) = recording(|call, ops| match call {
        1 => Err(StoreError::Unavailable {
            message: "the user's backend is down".to_owned(),
            source: None,
        }),
        2 => panic!("a bug in the user's function ({} ops)", ops.len()),
        _ => Ok(Vec::new()),
    });
    let ops: Vec<WriteOp> = (0..14).map(|n| put("fn#fail", n, "v")).collect();
    let config = BatchWriterConfig::default().with_batch_size(4);
    let report = write_through(write, config, &ops).await;
    assert_eq!(
        calls.lock().unwrap().len(),
        3,
        "the panicking call is not recorded"
    );
    assert_eq!(report.written, 4 + 2, "the first batch and the last");
    assert_eq!(report.failed.len(), 2);
    assert!(matches!(
        report.failed[0].error,
        StoreError::Unavailable { .. }
    ));
    assert!(
        report.failed[1].error.to_string().contains("panicked"),
        "{}",
        report.failed[1].error
    );
    assert_eq!(
        report.into_failed_ops(),
        ops[4..12].to_vec(),
        "none dropped"
    );
}

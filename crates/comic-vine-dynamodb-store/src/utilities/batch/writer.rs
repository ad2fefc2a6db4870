//! [`BatchWriter`]: buffered puts and deletes, written in batches through a
//! [`BatchWrite`] (by default `BatchWriteItem` on a table).

use std::sync::Arc;

use comic_vine_store::{StoreError, StoreResult};
use tokio::task::JoinHandle;

use super::flush::{Inner, flush_periodically};
use super::{BatchWrite, BatchWriterConfig, DynamoDbBatchWrite, FlushReport, WriteOp};
use crate::handle::Table;
use crate::metrics::{Metrics, MetricsSnapshot};

/// Buffers puts and deletes and writes them in batches: with `BatchWriteItem` on a
/// table ([`new`](Self::new), [`with_config`](Self::with_config)), or through a
/// [`BatchWrite`] function of the caller's ([`with_writer`](Self::with_writer)).
///
/// - Writes are sent in order, in requests of at most
///   [`batch_size`](BatchWriterConfig::with_batch_size) (25 by default); two writes of
///   one key never share a request, so the later one wins, as it would unbatched.
/// - The buffer is flushed when it reaches the batch size (by the
///   [`add`](Self::add) that fills it), on [`flush`](Self::flush), on
///   [`close`](Self::close), and, if configured, every
///   [`flush_interval`](BatchWriterConfig::with_flush_interval) from a background task.
/// - Items left unprocessed (by DynamoDB, or by the [`BatchWrite`]) are retried with
///   exponential backoff and jitter, for at most
///   [`max_attempts`](BatchWriterConfig::with_max_attempts) calls per batch. A failed
///   call (e.g. a missing table, a function's `Err` or panic) is not retried here: the
///   client's own retry configuration has already had its go.
/// - Nothing is dropped silently: [`flush`](Self::flush) and [`close`](Self::close)
///   return a [`FlushReport`] of every write since the previous report, automatic
///   flushes included: how many were written, and which failed and why.
/// - Consumed capacity and requests are counted in [`metrics`](Self::metrics).
///
/// Methods take `&self`; share a writer between tasks with an [`Arc`]. Flushes run one
/// at a time. Call [`close`](Self::close) before dropping the writer: writes still
/// buffered, or failures not yet reported, are lost on drop (with a warning logged), as
/// are those of a flush whose future is dropped before it completes.
///
/// ```no_run
/// use std::collections::HashMap;
/// use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::AttributeValue;
/// use comic_vine_dynamodb_store::{BatchWriter, DynamoDbConfig, PK, SK, WriteOp};
///
/// # async fn example() -> comic_vine_store::StoreResult<()> {
/// let table = DynamoDbConfig::builder().region("us-east-1").build()?.connect().await?;
/// let writer = BatchWriter::new(&table);
/// for n in 0..100 {
///     let item = HashMap::from([
///         (PK.to_owned(), AttributeValue::S("import#42".into())),
///         (SK.to_owned(), AttributeValue::S(format!("issue#{n}"))),
///     ]);
///     writer.add(WriteOp::Put(item)).await?; // sends a request every 25 writes
/// }
/// let report = writer.close().await;
/// for op in report.failed_ops() {
///     eprintln!("not written: {op:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BatchWriter {
    inner: Arc<Inner>,
    /// The background flusher, if there is a flush interval.
    ticker: Option<JoinHandle<()>>,
}

impl BatchWriter {
    /// A writer for `table` with the default options (batches of 25, 8 attempts, no
    /// background flushing).
    ///
    /// ```no_run
    /// use comic_vine_dynamodb_store::{BatchWriter, DynamoDbConfig};
    ///
    /// # async fn example() -> comic_vine_store::StoreResult<()> {
    /// let table = DynamoDbConfig::builder().build()?.connect().await?;
    /// let writer = BatchWriter::new(&table);
    /// assert_eq!(writer.config().batch_size(), 25);
    /// # Ok(()) }
    /// ```
    pub fn new(table: &Table) -> Self {
        let metrics = Arc::new(Metrics::for_store("batch_writer"));
        let write = Arc::new(DynamoDbBatchWrite::new(table, Arc::clone(&metrics)));
        Self {
            inner: Arc::new(Inner::new(
                write,
                table.name().to_owned(),
                BatchWriterConfig::default(),
                metrics,
            )),
            ticker: None,
        }
    }

    /// A writer for `table` with `config`; with a flush interval, this starts the
    /// background flusher on the current Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidConfig`] if an option is out of range (see
    /// [`BatchWriterConfig::validate`]), or if there is a flush interval but no Tokio
    /// runtime to run the flusher on.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::{BatchWriter, BatchWriterConfig, DynamoDbConfig};
    ///
    /// # async fn example() -> comic_vine_store::StoreResult<()> {
    /// let table = DynamoDbConfig::builder().build()?.connect().await?;
    /// let config = BatchWriterConfig::default()
    ///     .with_batch_size(10)
    ///     .with_flush_interval(Duration::from_millis(500));
    /// let writer = BatchWriter::with_config(&table, config)?;
    /// # Ok(()) }
    /// ```
    pub fn with_config(table: &Table, config: BatchWriterConfig) -> StoreResult<Self> {
        let metrics = Arc::new(Metrics::for_store("batch_writer"));
        let write = Arc::new(DynamoDbBatchWrite::new(table, Arc::clone(&metrics)));
        Self::start(write, table.name().to_owned(), config, metrics)
    }

    /// A writer that hands its batches to `write`, a function of the caller's (the
    /// seed's `new BatchWriter(config, writeBatch)`): any [`BatchWrite`], e.g. an async
    /// closure taking `Vec<WriteOp>` and returning the writes it left unprocessed. The
    /// writer's [`metrics`](Self::metrics) then count flushes and failed batches only.
    ///
    /// # Errors
    ///
    /// As for [`with_config`](Self::with_config).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use comic_vine_dynamodb_store::{BatchWriter, BatchWriterConfig, WriteOp};
    /// use comic_vine_store::StoreResult;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> StoreResult<()> {
    /// let sizes = Arc::new(Mutex::new(Vec::new()));
    /// let seen = Arc::clone(&sizes);
    /// let write = move |ops: Vec<WriteOp>| {
    ///     seen.lock().unwrap().push(ops.len());
    ///     async { StoreResult::Ok(Vec::new()) }
    /// };
    /// let writer = BatchWriter::with_writer(write, BatchWriterConfig::default().with_batch_size(2))?;
    /// for n in 0..5 {
    ///     writer.add(WriteOp::Delete(Default::default())).await?;
    ///     # let _ = n;
    /// }
    /// let report = writer.close().await;
    /// assert_eq!(report.written, 5);
    /// assert_eq!(*sizes.lock().unwrap(), [1, 1, 1, 1, 1]); // one key (none): never two in a batch
    /// # Ok(()) }
    /// ```
    pub fn with_writer(write: impl BatchWrite, config: BatchWriterConfig) -> StoreResult<Self> {
        let metrics = Arc::new(Metrics::for_store("batch_writer"));
        Self::start(Arc::new(write), "custom".to_owned(), config, metrics)
    }

    fn start(
        write: Arc<dyn BatchWrite>,
        target: String,
        config: BatchWriterConfig,
        metrics: Arc<Metrics>,
    ) -> StoreResult<Self> {
        config.validate()?;
        let interval = config.flush_interval;
        let inner = Arc::new(Inner::new(write, target, config, metrics));
        let ticker = match interval {
            None => None,
            Some(every) => {
                let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
                    StoreError::invalid_config(
                        "batch_writer.flush_interval",
                        "needs a Tokio runtime: create the writer inside one",
                    )
                })?;
                Some(runtime.spawn(flush_periodically(Arc::downgrade(&inner), every)))
            }
        };
        Ok(Self { inner, ticker })
    }

    /// Buffers `op`, and flushes the buffer if it has reached the batch size (the
    /// outcome goes into the next report).
    ///
    /// # Errors
    ///
    /// [`StoreError::Closed`] after [`close`](Self::close); `op` is not buffered then.
    ///
    /// ```no_run
    /// use std::collections::HashMap;
    /// use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::AttributeValue;
    /// use comic_vine_dynamodb_store::{BatchWriter, PK, SK, WriteOp};
    ///
    /// # async fn example(writer: &BatchWriter) -> comic_vine_store::StoreResult<()> {
    /// let key = HashMap::from([
    ///     (PK.to_owned(), AttributeValue::S("import#42".into())),
    ///     (SK.to_owned(), AttributeValue::S("issue#1".into())),
    /// ]);
    /// writer.add(WriteOp::Delete(key)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add(&self, op: WriteOp) -> StoreResult<()> {
        let full = {
            let mut state = self.inner.state();
            if state.closed {
                return Err(StoreError::Closed);
            }
            state.buffer.push(op);
            state.buffer.len() >= self.inner.config.batch_size
        };
        if full {
            self.inner.flush_buffer().await;
        }
        Ok(())
    }

    /// Writes everything buffered, and reports every write since the previous report.
    ///
    /// # Errors
    ///
    /// [`StoreError::Closed`] after [`close`](Self::close) (whose report covered
    /// everything). Failed writes are not errors: they are in the report.
    ///
    /// ```no_run
    /// # async fn example(writer: &comic_vine_dynamodb_store::BatchWriter)
    /// # -> comic_vine_store::StoreResult<()> {
    /// let report = writer.flush().await?;
    /// println!("{} written, {} failed", report.written, report.failed_count());
    /// # Ok(()) }
    /// ```
    pub async fn flush(&self) -> StoreResult<FlushReport> {
        if self.inner.state().closed {
            return Err(StoreError::Closed);
        }
        self.inner.flush_buffer().await;
        Ok(self.inner.take_report())
    }

    /// Refuses further writes, writes everything buffered (waiting for a flush under
    /// way), stops the background flusher, and reports every write since the previous
    /// report. Closing again reports nothing new.
    ///
    /// ```no_run
    /// # async fn example(writer: comic_vine_dynamodb_store::BatchWriter) {
    /// let report = writer.close().await;
    /// assert!(report.is_complete(), "{:?}", report.failed);
    /// # }
    /// ```
    pub async fn close(&self) -> FlushReport {
        self.inner.state().closed = true;
        self.inner.flush_buffer().await;
        if let Some(ticker) = &self.ticker {
            ticker.abort(); // nothing left for it: the buffer is empty and stays so
        }
        self.inner.take_report()
    }

    /// How many writes are buffered, not yet sent.
    ///
    /// ```no_run
    /// # fn example(writer: &comic_vine_dynamodb_store::BatchWriter) {
    /// assert!(writer.buffered() < writer.config().batch_size());
    /// # }
    /// ```
    pub fn buffered(&self) -> usize {
        self.inner.state().buffer.len()
    }

    /// The options in force.
    ///
    /// ```no_run
    /// # fn example(writer: &comic_vine_dynamodb_store::BatchWriter) {
    /// println!("batches of {}", writer.config().batch_size());
    /// # }
    /// ```
    pub fn config(&self) -> &BatchWriterConfig {
        &self.inner.config
    }

    /// This writer's counters: flushes that sent something (`operations`),
    /// `BatchWriteItem` requests, write capacity consumed, and failed batches by error
    /// kind.
    ///
    /// ```no_run
    /// # fn example(writer: &comic_vine_dynamodb_store::BatchWriter) {
    /// let m = writer.metrics();
    /// println!("{} requests, {} write units", m.requests, m.write_units);
    /// # }
    /// ```
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }
}

impl Drop for BatchWriter {
    fn drop(&mut self) {
        if let Some(ticker) = &self.ticker {
            ticker.abort();
        }
        let state = self.inner.state();
        let (buffered, failed) = (state.buffer.len(), state.unreported.failed_count());
        if buffered > 0 || failed > 0 {
            tracing::warn!(
                target = %self.inner.target,
                buffered,
                failed,
                "BatchWriter dropped without close(): buffered writes are lost and \
                 failed ones unreported"
            );
        }
    }
}

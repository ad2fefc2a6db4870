//! [`BatchWriter`]: buffered puts and deletes, written with `BatchWriteItem`.
//!
//! Also home of the batch-writing core the stores share ([`write_batch`]): one request
//! of at most 25 writes, with what DynamoDB leaves unprocessed retried under
//! exponential backoff with jitter, and whatever is still unwritten handed back.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, PutRequest, ReturnConsumedCapacity, WriteRequest,
};
use comic_vine_store::{StoreError, StoreResult};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::handle::Table;
use crate::metrics::{Access, Metrics, MetricsSnapshot};
use crate::table::{PK, SK};

/// One buffered write: put an item, or delete the item with a key.
///
/// Items and keys are DynamoDB attribute maps; both must hold the table's key
/// attributes [`PK`](crate::PK) and [`SK`](crate::SK).
///
/// ```
/// use std::collections::HashMap;
/// use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::AttributeValue;
/// use comic_vine_dynamodb_store::{PK, SK, WriteOp};
///
/// let key = HashMap::from([
///     (PK.to_owned(), AttributeValue::S("import#42".into())),
///     (SK.to_owned(), AttributeValue::S("issue#1".into())),
/// ]);
/// let mut item = key.clone();
/// item.insert("title".to_owned(), AttributeValue::S("Batman #1".into()));
///
/// let ops = [WriteOp::Put(item), WriteOp::Delete(key)];
/// assert!(matches!(ops[1], WriteOp::Delete(_)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOp {
    /// Put this item, replacing any item with the same key.
    Put(HashMap<String, AttributeValue>),
    /// Delete the item with this key (nothing happens if there is none).
    Delete(HashMap<String, AttributeValue>),
}

impl WriteOp {
    /// The values of the table's key attributes, to keep two writes of one key out of
    /// the same request (DynamoDB rejects such a request as a whole).
    fn key(&self) -> (Option<&AttributeValue>, Option<&AttributeValue>) {
        let (Self::Put(attributes) | Self::Delete(attributes)) = self;
        (attributes.get(PK), attributes.get(SK))
    }

    fn to_request(&self) -> Result<WriteRequest, BuildError> {
        Ok(match self {
            Self::Put(item) => WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item.clone())).build()?)
                .build(),
            Self::Delete(key) => WriteRequest::builder()
                .delete_request(
                    DeleteRequest::builder()
                        .set_key(Some(key.clone()))
                        .build()?,
                )
                .build(),
        })
    }

    /// The write a request stands for. Every request this module sends, and so every
    /// one DynamoDB hands back unprocessed, holds exactly one of the two.
    fn from_request(request: WriteRequest) -> Option<Self> {
        match (request.put_request, request.delete_request) {
            (Some(put), _) => Some(Self::Put(put.item)),
            (None, Some(delete)) => Some(Self::Delete(delete.key)),
            (None, None) => None,
        }
    }
}

/// Exponential backoff with jitter for the unprocessed items of one batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// Requests sent per batch at most (the first one included).
    pub(crate) max_attempts: u32,
    /// The longest wait before the first retry.
    pub(crate) base_delay: Duration,
    /// The longest wait before any retry.
    pub(crate) max_delay: Duration,
}

impl Backoff {
    /// 8 attempts, waiting up to 50 ms, 100 ms, … 2 s between them.
    pub(crate) const DEFAULT: Self = Self {
        max_attempts: 8,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_secs(2),
    };

    /// The longest wait before retry `retry` (1 for the first):
    /// `base_delay × 2^(retry − 1)`, at most `max_delay`.
    fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The wait before retry `retry`, for `unit` drawn uniformly from `[0, 1)`: in the
    /// upper half of the ceiling ("equal jitter"), so that writers throttled together
    /// spread out while each still backs off.
    pub(crate) fn delay(&self, retry: u32, unit: f64) -> Duration {
        let half = self.ceiling(retry) / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// A number drawn uniformly from `[0, 1)`. Every `RandomState` has fresh random keys,
/// which is all jitter needs.
pub(crate) fn unit_random() -> f64 {
    let bits = RandomState::new().hash_one(0u8) >> 11; // 53 random bits
    bits as f64 / (1u64 << 53) as f64
}

/// What became of one batch sent by [`write_batch`].
#[derive(Debug)]
pub(crate) struct BatchOutcome {
    /// Writes DynamoDB carried out.
    pub(crate) written: usize,
    /// The writes left undone, and why.
    pub(crate) failure: Option<(Vec<WriteRequest>, StoreError)>,
}

/// Sends `requests` (at most 25, no two on one key) as one `BatchWriteItem`, then
/// again whatever DynamoDB leaves unprocessed, waiting as `backoff` says in between, for
/// at most `backoff.max_attempts` requests. Counts each request and its consumed
/// capacity in `metrics`.
///
/// Hands back what is still unwritten: everything left when a request fails (the error
/// mapped as for every operation, e.g. [`StoreError::TableNotFound`]), or the items
/// still unprocessed after the last attempt ([`StoreError::Throttled`]).
pub(crate) async fn write_batch(
    table: &Table,
    metrics: &Metrics,
    requests: Vec<WriteRequest>,
    backoff: Backoff,
) -> BatchOutcome {
    let total = requests.len();
    let mut pending = requests;
    let mut attempt = 0;
    while !pending.is_empty() {
        attempt += 1;
        let sent = table
            .client()
            .batch_write_item()
            .request_items(table.name(), pending.clone())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            Err(e) => {
                let error = table.error("BatchWriteItem", e);
                return BatchOutcome {
                    written: total - pending.len(),
                    failure: Some((pending, error)),
                };
            }
        };
        metrics.request(Access::Write, out.consumed_capacity());
        pending = out
            .unprocessed_items
            .and_then(|mut unprocessed| unprocessed.remove(table.name()))
            .unwrap_or_default();
        if pending.is_empty() {
            break;
        }
        if attempt >= backoff.max_attempts {
            let error = StoreError::Throttled {
                message: format!(
                    "BatchWriteItem left {} items unprocessed after {attempt} attempts",
                    pending.len()
                ),
                source: None,
            };
            return BatchOutcome {
                written: total - pending.len(),
                failure: Some((pending, error)),
            };
        }
        tokio::time::sleep(backoff.delay(attempt, unit_random())).await;
    }
    BatchOutcome {
        written: total,
        failure: None,
    }
}

/// Splits `ops` into batches of at most `size`, in order, starting a new batch where a
/// key repeats, so that writes to one key reach DynamoDB in the order they were made.
fn plan_batches(ops: Vec<WriteOp>, size: usize) -> Vec<Vec<WriteOp>> {
    let mut batches = Vec::with_capacity(ops.len().div_ceil(size.max(1)));
    let mut batch: Vec<WriteOp> = Vec::with_capacity(size);
    for op in ops {
        let repeats = batch.iter().any(|other| other.key() == op.key());
        if batch.len() >= size || repeats {
            batches.push(std::mem::replace(&mut batch, Vec::with_capacity(size)));
        }
        batch.push(op);
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

/// How a [`BatchWriter`] batches and retries; every option has a default, and
/// [`BatchWriter::with_config`] validates them.
///
/// | option | default |
/// |---|---|
/// | [`batch_size`](Self::with_batch_size): writes per request, 1 to 25 | 25 |
/// | [`max_attempts`](Self::with_max_attempts): requests per batch, at least 1 | 8 |
/// | [`backoff`](Self::with_backoff): longest wait before the first retry, and before any | 50 ms, 2 s |
/// | [`flush_interval`](Self::with_flush_interval): flush in the background this often | none |
///
/// ```
/// use std::time::Duration;
/// use comic_vine_dynamodb_store::BatchWriterConfig;
///
/// let config = BatchWriterConfig::default()
///     .with_batch_size(10)
///     .with_max_attempts(5)
///     .with_backoff(Duration::from_millis(20), Duration::from_secs(1))
///     .with_flush_interval(Duration::from_secs(5));
/// assert!(config.validate().is_ok());
/// assert!(BatchWriterConfig::default().with_batch_size(26).validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchWriterConfig {
    batch_size: usize,
    backoff: Backoff,
    flush_interval: Option<Duration>,
}

impl Default for BatchWriterConfig {
    fn default() -> Self {
        Self {
            batch_size: Self::MAX_BATCH_SIZE,
            backoff: Backoff::DEFAULT,
            flush_interval: None,
        }
    }
}

impl BatchWriterConfig {
    /// The most writes one `BatchWriteItem` request may carry.
    ///
    /// ```
    /// assert_eq!(comic_vine_dynamodb_store::BatchWriterConfig::MAX_BATCH_SIZE, 25);
    /// ```
    pub const MAX_BATCH_SIZE: usize = 25;

    /// Writes per request, and the buffer length that triggers a flush (1 to 25).
    ///
    /// ```
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().with_batch_size(5).batch_size(), 5);
    /// ```
    pub fn with_batch_size(mut self, size: usize) -> Self {
        self.batch_size = size;
        self
    }

    /// Requests per batch at most, the first one included (at least 1).
    ///
    /// ```
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().with_max_attempts(3).max_attempts(), 3);
    /// ```
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.backoff.max_attempts = attempts;
        self
    }

    /// The backoff between retries of unprocessed items: retry `n` waits a random time
    /// between half of and all of `base × 2^(n−1)`, capped at `max` (`base <= max`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    ///
    /// let ms = Duration::from_millis;
    /// let config = BatchWriterConfig::default().with_backoff(ms(10), ms(500));
    /// assert_eq!((config.base_delay(), config.max_delay()), (ms(10), ms(500)));
    /// ```
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff.base_delay = base;
        self.backoff.max_delay = max;
        self
    }

    /// Flushes the buffer every `interval` (above zero) from a background Tokio task,
    /// so that writes do not wait for the buffer to fill. The task flushes only a
    /// non-empty buffer, keeps what it could not write for the next
    /// [`flush`](BatchWriter::flush) or [`close`](BatchWriter::close) report, and ends
    /// with the writer.
    ///
    /// ```
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    ///
    /// let config = BatchWriterConfig::default().with_flush_interval(Duration::from_secs(1));
    /// assert_eq!(config.flush_interval(), Some(Duration::from_secs(1)));
    /// ```
    pub fn with_flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = Some(interval);
        self
    }

    /// Writes per request.
    ///
    /// ```
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().batch_size(), 25);
    /// ```
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Requests per batch at most.
    ///
    /// ```
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().max_attempts(), 8);
    /// ```
    pub fn max_attempts(&self) -> u32 {
        self.backoff.max_attempts
    }

    /// The longest wait before the first retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().base_delay(), Duration::from_millis(50));
    /// ```
    pub fn base_delay(&self) -> Duration {
        self.backoff.base_delay
    }

    /// The longest wait before any retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().max_delay(), Duration::from_secs(2));
    /// ```
    pub fn max_delay(&self) -> Duration {
        self.backoff.max_delay
    }

    /// How often the buffer is flushed in the background, if at all.
    ///
    /// ```
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().flush_interval(), None);
    /// ```
    pub fn flush_interval(&self) -> Option<Duration> {
        self.flush_interval
    }

    /// Checks every option.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidConfig`] naming the first option out of range.
    ///
    /// ```
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// use comic_vine_store::StoreError;
    ///
    /// let err = BatchWriterConfig::default().with_batch_size(0).validate().unwrap_err();
    /// assert!(matches!(err, StoreError::InvalidConfig { .. }));
    /// ```
    pub fn validate(&self) -> StoreResult<()> {
        if !(1..=Self::MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(StoreError::invalid_config(
                "batch_writer.batch_size",
                format!(
                    "must be 1 to {} (got {})",
                    Self::MAX_BATCH_SIZE,
                    self.batch_size
                ),
            ));
        }
        if self.backoff.max_attempts == 0 {
            return Err(StoreError::invalid_config(
                "batch_writer.max_attempts",
                "must be at least 1",
            ));
        }
        if self.backoff.base_delay > self.backoff.max_delay {
            return Err(StoreError::invalid_config(
                "batch_writer.backoff",
                format!(
                    "base delay {:?} exceeds the maximum delay {:?}",
                    self.backoff.base_delay, self.backoff.max_delay
                ),
            ));
        }
        if self.flush_interval.is_some_and(|i| i.is_zero()) {
            return Err(StoreError::invalid_config(
                "batch_writer.flush_interval",
                "must be above zero",
            ));
        }
        Ok(())
    }
}

/// Writes that were given up on, and why.
///
/// ```
/// use comic_vine_dynamodb_store::FlushReport;
///
/// fn log_failures(report: &FlushReport) {
///     for failed in &report.failed {
///         eprintln!("{} writes failed: {}", failed.ops.len(), failed.error);
///     }
/// }
/// # log_failures(&FlushReport::default());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct FailedBatch {
    /// The writes, in the order they were added.
    pub ops: Vec<WriteOp>,
    /// Why: the request's error (e.g. [`StoreError::TableNotFound`]), or
    /// [`StoreError::Throttled`] when DynamoDB still left them unprocessed after the
    /// last attempt.
    pub error: StoreError,
}

/// What a [`BatchWriter`] wrote and failed to write since its previous report: every
/// write added is counted in exactly one report, either as written or as failed.
///
/// ```
/// use comic_vine_dynamodb_store::FlushReport;
///
/// let report = FlushReport::default();
/// assert!(report.is_complete());
/// assert_eq!((report.written, report.failed_count()), (0, 0));
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
#[must_use = "a flush report holds the writes that failed"]
pub struct FlushReport {
    /// Writes DynamoDB carried out.
    pub written: usize,
    /// Writes given up on, by batch, with the reason.
    pub failed: Vec<FailedBatch>,
}

impl FlushReport {
    /// Whether nothing failed.
    ///
    /// ```
    /// assert!(comic_vine_dynamodb_store::FlushReport::default().is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }

    /// How many writes failed.
    ///
    /// ```
    /// assert_eq!(comic_vine_dynamodb_store::FlushReport::default().failed_count(), 0);
    /// ```
    pub fn failed_count(&self) -> usize {
        self.failed.iter().map(|f| f.ops.len()).sum()
    }

    /// The writes that failed, in order.
    ///
    /// ```
    /// let report = comic_vine_dynamodb_store::FlushReport::default();
    /// assert_eq!(report.failed_ops().count(), 0);
    /// ```
    pub fn failed_ops(&self) -> impl Iterator<Item = &WriteOp> {
        self.failed.iter().flat_map(|f| &f.ops)
    }

    /// The writes that failed, in order, e.g. to add them again later.
    ///
    /// ```
    /// let report = comic_vine_dynamodb_store::FlushReport::default();
    /// assert!(report.into_failed_ops().is_empty());
    /// ```
    pub fn into_failed_ops(self) -> Vec<WriteOp> {
        self.failed.into_iter().flat_map(|f| f.ops).collect()
    }

    fn merge(&mut self, other: Self) {
        self.written += other.written;
        self.failed.extend(other.failed);
    }
}

/// Buffers puts and deletes for one table and writes them with `BatchWriteItem`.
///
/// - Writes are sent in order, in requests of at most
///   [`batch_size`](BatchWriterConfig::with_batch_size) (25 by default); two writes of
///   one key never share a request, so the later one wins, as it would unbatched.
/// - The buffer is flushed when it reaches the batch size (by the
///   [`add`](Self::add) that fills it), on [`flush`](Self::flush), on
///   [`close`](Self::close), and, if configured, every
///   [`flush_interval`](BatchWriterConfig::with_flush_interval) from a background task.
/// - Items DynamoDB leaves unprocessed are retried with exponential backoff and jitter,
///   for at most [`max_attempts`](BatchWriterConfig::with_max_attempts) requests per
///   batch. A failed request (e.g. a missing table) is not retried here: the client's
///   own retry configuration has already had its go.
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

#[derive(Debug)]
struct Inner {
    table: Table,
    config: BatchWriterConfig,
    state: Mutex<State>,
    /// Held while a flush sends, so that flushes (and writes to one key) stay in order.
    sending: tokio::sync::Mutex<()>,
    metrics: Metrics,
}

#[derive(Debug, Default)]
struct State {
    buffer: Vec<WriteOp>,
    closed: bool,
    /// Outcomes of flushes not yet handed to a caller.
    unreported: FlushReport,
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes everything buffered and records the outcome for the next report.
    async fn flush_buffer(&self) {
        let _sending = self.sending.lock().await;
        let ops = std::mem::take(&mut self.state().buffer);
        if ops.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let mut report = FlushReport::default();
        for batch in plan_batches(ops, self.config.batch_size) {
            let requests = batch
                .iter()
                .map(WriteOp::to_request)
                .collect::<Result<Vec<_>, _>>();
            let failure = match requests {
                Ok(requests) => {
                    let outcome =
                        write_batch(&self.table, &self.metrics, requests, self.config.backoff)
                            .await;
                    report.written += outcome.written;
                    outcome.failure.map(|(left, error)| {
                        let ops = left.into_iter().filter_map(WriteOp::from_request);
                        (ops.collect(), error)
                    })
                }
                Err(e) => Some((
                    batch,
                    StoreError::backend("building a BatchWriteItem request", e),
                )),
            };
            if let Some((ops, error)) = failure {
                self.metrics.error("flush", error.kind());
                tracing::warn!(
                    table = self.table.name(),
                    writes = ops.len(),
                    %error,
                    "batch writer gave up on a batch"
                );
                report.failed.push(FailedBatch { ops, error });
            }
        }
        self.metrics.operation("flush", started.elapsed());
        self.state().unreported.merge(report);
    }

    fn take_report(&self) -> FlushReport {
        std::mem::take(&mut self.state().unreported)
    }
}

/// Flushes `inner` every `every` until the writer is closed or gone.
async fn flush_periodically(inner: Weak<Inner>, every: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if inner.state().closed {
            return;
        }
        inner.flush_buffer().await;
    }
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
        Self {
            inner: Arc::new(Inner::new(table, BatchWriterConfig::default())),
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
        config.validate()?;
        let interval = config.flush_interval;
        let inner = Arc::new(Inner::new(table, config));
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

impl Inner {
    fn new(table: &Table, config: BatchWriterConfig) -> Self {
        Self {
            table: table.clone(),
            config,
            state: Mutex::default(),
            sending: tokio::sync::Mutex::new(()),
            metrics: Metrics::for_store("batch_writer"),
        }
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
                table = self.inner.table.name(),
                buffered,
                failed,
                "BatchWriter dropped without close(): buffered writes are lost and \
                 failed ones unreported"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
    }

    fn put(pk: &str, sk: &str) -> WriteOp {
        let mut item = key(pk, sk);
        item.insert("V".to_owned(), s("value"));
        WriteOp::Put(item)
    }

    fn sizes(batches: &[Vec<WriteOp>]) -> Vec<usize> {
        batches.iter().map(Vec::len).collect()
    }

    #[test]
    fn batches_hold_at_most_the_batch_size_in_order() {
        let ops: Vec<_> = (0..60).map(|n| put("p", &n.to_string())).collect();
        let batches = plan_batches(ops.clone(), 25);
        assert_eq!(sizes(&batches), [25, 25, 10]);
        assert_eq!(batches.concat(), ops);
        assert_eq!(sizes(&plan_batches(ops, 7)).iter().max(), Some(&7));
        assert!(plan_batches(Vec::new(), 25).is_empty());
    }

    #[test]
    fn a_repeated_key_starts_a_new_batch() {
        let ops = vec![
            put("p", "1"),
            put("p", "2"),
            WriteOp::Delete(key("p", "1")),
            put("q", "1"),
            put("p", "1"),
        ];
        let batches = plan_batches(ops.clone(), 25);
        assert_eq!(sizes(&batches), [2, 2, 1]);
        assert_eq!(batches.concat(), ops);
    }

    #[test]
    fn ops_round_trip_through_requests() {
        for op in [put("p", "1"), WriteOp::Delete(key("p", "2"))] {
            let request = op.to_request().unwrap();
            assert_eq!(WriteOp::from_request(request), Some(op));
        }
        assert_eq!(WriteOp::from_request(WriteRequest::builder().build()), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum_with_jitter_in_the_upper_half() {
        let b = Backoff {
            max_attempts: 10,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
        };
        let ceilings: Vec<u128> = (1..=6).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [50, 100, 200, 400, 500, 500]);
        assert_eq!(b.delay(3, 0.0), Duration::from_millis(100));
        assert_eq!(b.delay(3, 0.5), Duration::from_millis(150));
        assert!(b.delay(3, 0.999_999) < Duration::from_millis(200));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_millis(500));
        for _ in 0..1_000 {
            let unit = unit_random();
            assert!((0.0..1.0).contains(&unit));
            let d = b.delay(2, unit);
            assert!(d >= Duration::from_millis(50) && d < Duration::from_millis(100));
        }
    }

    #[test]
    fn jitter_varies() {
        let draws: std::collections::HashSet<u64> =
            (0..20).map(|_| unit_random().to_bits()).collect();
        assert!(draws.len() > 1);
    }

    #[test]
    fn config_defaults_are_valid_and_bounds_are_checked() {
        let ok = BatchWriterConfig::default();
        assert!(ok.validate().is_ok());
        assert_eq!(ok.batch_size(), 25);
        assert_eq!(ok.max_attempts(), 8);
        assert!(ok.clone().with_batch_size(1).validate().is_ok());
        let ms = Duration::from_millis;
        for (bad, field) in [
            (ok.clone().with_batch_size(0), "batch_writer.batch_size"),
            (ok.clone().with_batch_size(26), "batch_writer.batch_size"),
            (ok.clone().with_max_attempts(0), "batch_writer.max_attempts"),
            (
                ok.clone().with_backoff(ms(10), ms(5)),
                "batch_writer.backoff",
            ),
            (
                ok.clone().with_flush_interval(Duration::ZERO),
                "batch_writer.flush_interval",
            ),
        ] {
            match bad.validate() {
                Err(StoreError::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected InvalidConfig, got {other:?}"),
            }
        }
    }

    #[test]
    fn reports_merge_and_list_failed_ops_in_order() {
        let mut report = FlushReport {
            written: 3,
            failed: vec![FailedBatch {
                ops: vec![put("p", "1")],
                error: StoreError::Closed,
            }],
        };
        report.merge(FlushReport {
            written: 2,
            failed: vec![FailedBatch {
                ops: vec![put("p", "2"), put("p", "3")],
                error: StoreError::Closed,
            }],
        });
        assert_eq!(report.written, 5);
        assert_eq!(report.failed_count(), 3);
        assert!(!report.is_complete());
        assert_eq!(
            report.into_failed_ops(),
            [put("p", "1"), put("p", "2"), put("p", "3")]
        );
    }
}

//! Batched writes: [`BatchWriter`] buffers [`WriteOp`]s and hands them, in batches of at
//! most [`batch_size`](BatchWriterConfig::with_batch_size), to a [`BatchWrite`] — the
//! provided [`DynamoDbBatchWrite`] (`BatchWriteItem` on a table) or a function of the
//! caller's own — retrying what it leaves unprocessed with [`Backoff`].
//!
//! - `writer`: the public [`BatchWriter`];
//! - `flush`: its buffer, flushed batch by batch with retries;
//! - `config`, `report`: its options and what a flush reports;
//! - `dynamodb`: the DynamoDB batch write, also the crate-internal [`write_batch`] the
//!   stores use;
//! - `backoff`: exponential backoff with jitter.

mod backoff;
mod config;
mod dynamodb;
mod flush;
mod report;
mod writer;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use comic_vine_store::StoreResult;

use crate::table::{PK, SK};

pub(crate) use backoff::Backoff;
pub use config::BatchWriterConfig;
pub use dynamodb::DynamoDbBatchWrite;
pub(crate) use dynamodb::write_batch;
pub use report::{FailedBatch, FlushReport};
pub use writer::BatchWriter;

/// Writes one batch for a [`BatchWriter`]: the seed's `writeBatch` function.
///
/// The writer calls it with at most [`batch_size`](BatchWriterConfig::with_batch_size)
/// writes, in the order they were added, no two on one key, one batch at a time. It
/// returns the writes it left undone (`Ok(vec![])` when all landed), which the writer
/// sends again after a backoff, for at most
/// [`max_attempts`](BatchWriterConfig::with_max_attempts) calls per batch; an `Err`
/// fails the batch's remaining writes at once (not retried by the writer). Either way
/// writes not done end in the [`FlushReport`], never dropped.
///
/// Any `Fn(Vec<WriteOp>) -> Future<Output = StoreResult<Vec<WriteOp>>>` closure is one.
///
/// ```
/// use comic_vine_dynamodb_store::{BatchWriter, BatchWriterConfig, WriteOp};
/// use comic_vine_store::StoreResult;
///
/// # async fn example() -> StoreResult<()> {
/// let writer = BatchWriter::with_writer(
///     |ops: Vec<WriteOp>| async move {
///         println!("writing {} ops", ops.len());
///         StoreResult::Ok(Vec::new()) // nothing left unprocessed
///     },
///     BatchWriterConfig::default().with_batch_size(10),
/// )?;
/// # let _ = writer.close().await;
/// # Ok(()) }
/// ```
#[async_trait::async_trait]
pub trait BatchWrite: Send + Sync + 'static {
    /// Writes `ops`; returns those left unprocessed, to be retried.
    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<Vec<WriteOp>>;
}

#[async_trait::async_trait]
impl<F, Fut> BatchWrite for F
where
    F: Fn(Vec<WriteOp>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = StoreResult<Vec<WriteOp>>> + Send + 'static,
{
    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<Vec<WriteOp>> {
        self(ops).await
    }
}

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
    pub(crate) fn key(&self) -> (Option<&AttributeValue>, Option<&AttributeValue>) {
        let (Self::Put(attributes) | Self::Delete(attributes)) = self;
        (attributes.get(PK), attributes.get(SK))
    }

    pub(crate) fn to_request(&self) -> Result<WriteRequest, BuildError> {
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
    pub(crate) fn from_request(request: WriteRequest) -> Option<Self> {
        match (request.put_request, request.delete_request) {
            (Some(put), _) => Some(Self::Put(put.item)),
            (None, Some(delete)) => Some(Self::Delete(delete.key)),
            (None, None) => None,
        }
    }
}

/// Splits `ops` into batches of at most `size`, in order, starting a new batch where a
/// key repeats, so that writes to one key reach DynamoDB in the order they were made.
pub(crate) fn plan_batches(ops: Vec<WriteOp>, size: usize) -> Vec<Vec<WriteOp>> {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    pub(crate) fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
    }

    pub(crate) fn put(pk: &str, sk: &str) -> WriteOp {
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
}

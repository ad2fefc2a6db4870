//! The DynamoDB batch write: one `BatchWriteItem` request of at most 25 writes, the
//! crate-internal [`write_batch`] (retrying what DynamoDB leaves unprocessed, for the
//! stores' own multi-item writes) and [`DynamoDbBatchWrite`], the [`BatchWrite`] a
//! [`BatchWriter::new`](super::BatchWriter::new) uses.

use std::sync::Arc;

use aws_sdk_dynamodb::types::WriteRequest;
use comic_vine_store::{StoreError, StoreResult};

use super::{Backoff, BatchWrite, WriteOp};
use crate::handle::Table;
use crate::metrics::{Access, Metrics};

/// Sends `requests` as one `BatchWriteItem` on `table`, counting the request and its
/// consumed capacity in `metrics`; returns what DynamoDB left unprocessed.
async fn send_once(
    table: &Table,
    metrics: &Metrics,
    requests: Vec<WriteRequest>,
) -> StoreResult<Vec<WriteRequest>> {
    let batch = table.batch_write_item(requests);
    let out = table.send(metrics, Access::Write, batch).await?;
    Ok(out
        .unprocessed_items
        .and_then(|mut unprocessed| unprocessed.remove(table.name()))
        .unwrap_or_default())
}

/// What became of one batch sent by [`write_batch`].
#[derive(Debug)]
pub(crate) struct BatchOutcome {
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
    let sent = backoff.retry("BatchWriteItem", requests, |pending| {
        send_once(table, metrics, pending)
    });
    BatchOutcome {
        failure: sent.await.err(),
    }
}

/// The provided [`BatchWrite`]: one `BatchWriteItem` request on a table per call,
/// returning what DynamoDB left unprocessed. [`BatchWriter::new`](super::BatchWriter::new)
/// and [`with_config`](super::BatchWriter::with_config) use it; its requests and
/// consumed capacity are counted in the writer's [`metrics`](super::BatchWriter::metrics).
#[derive(Debug)]
pub struct DynamoDbBatchWrite {
    table: Table,
    metrics: Arc<Metrics>,
}

impl DynamoDbBatchWrite {
    /// Writes to `table`, counting in `metrics`.
    pub(crate) fn new(table: &Table, metrics: Arc<Metrics>) -> Self {
        Self {
            table: table.clone(),
            metrics,
        }
    }
}

#[async_trait::async_trait]
impl BatchWrite for DynamoDbBatchWrite {
    async fn write_batch(&self, ops: Vec<WriteOp>) -> StoreResult<Vec<WriteOp>> {
        let requests = ops
            .iter()
            .map(WriteOp::to_request)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::backend("building a BatchWriteItem request", e))?;
        let unprocessed = send_once(&self.table, &self.metrics, requests).await?;
        Ok(unprocessed
            .into_iter()
            .filter_map(WriteOp::from_request)
            .collect())
    }
}

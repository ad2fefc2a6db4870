//! Payloads larger than one item, stored as numbered chunk items under one partition.
//!
//! Chunks are written before the item that points to them (a manifest naming their
//! version and count), so a reader that follows a manifest finds complete chunks, unless
//! a later writer replaced the manifest and removed them meanwhile: then the read comes
//! back incomplete and the caller reads the manifest again. Chunks also carry the TTL of
//! their value, so chunks orphaned by a crash expire.

use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use comic_vine_store::{StoreError, StoreResult};

use crate::batch::{Backoff, write_batch};
use crate::handle::Table;
use crate::item::{self, Fields, Item};
use crate::keys;
use crate::metrics::Metrics;
use crate::table::{PK, SK, TTL};

/// Items per BatchWriteItem request (DynamoDB's maximum).
pub(crate) const BATCH_LIMIT: usize = 25;

/// Writes `requests` in batches of 25, retrying unprocessed items with backoff (see
/// [`write_batch`]); fails with the first batch that could not be written completely.
pub(crate) async fn batch_write(
    table: &Table,
    metrics: &Metrics,
    requests: Vec<WriteRequest>,
) -> StoreResult<()> {
    for batch in requests.chunks(BATCH_LIMIT) {
        let outcome = write_batch(table, metrics, batch.to_vec(), Backoff::DEFAULT).await;
        if let Some((_, error)) = outcome.failure {
            return Err(error);
        }
    }
    Ok(())
}

/// The chunks of one partition (e.g. one cache key's).
pub(crate) struct Chunks<'a> {
    pub(crate) table: &'a Table,
    pub(crate) metrics: &'a Metrics,
    pub(crate) pk: String,
}

impl Chunks<'_> {
    /// Writes `payload` as chunks of `version`; returns how many.
    pub(crate) async fn write<'p>(
        &self,
        version: &str,
        chunks: impl Iterator<Item = &'p [u8]>,
        ttl_secs: u64,
    ) -> StoreResult<u32> {
        let mut requests = Vec::new();
        for (n, chunk) in chunks.enumerate() {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            let mut item = item::key((self.pk.clone(), keys::chunk_sk(version, n)));
            item.insert("V".to_owned(), item::b(chunk));
            item.insert(TTL.to_owned(), item::n(ttl_secs));
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(|e| StoreError::backend("building a chunk write", e))?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        let count = u32::try_from(requests.len()).unwrap_or(u32::MAX);
        batch_write(self.table, self.metrics, requests).await?;
        Ok(count)
    }

    /// The chunk items of `version` (keys only, or whole), read strongly consistent.
    async fn query_version(&self, version: &str, keys_only: bool) -> StoreResult<Vec<Item>> {
        let mut query = self
            .table
            .query()
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", item::s(self.pk.clone()))
            .expression_attribute_values(":prefix", item::s(format!("{version}#")))
            .consistent_read(true);
        if keys_only {
            query = query.projection_expression("#pk, #sk");
        }
        self.table.query_all(self.metrics, query).await
    }

    /// Reads and joins the `count` chunks of `version`; `None` if some are missing.
    pub(crate) async fn read(&self, version: &str, count: u32) -> StoreResult<Option<Vec<u8>>> {
        let parts = self.query_version(version, false).await?;
        if parts.len() != count as usize {
            return Ok(None);
        }
        let mut payload = Vec::new();
        for part in &parts {
            let fields = Fields::new(part, &self.pk);
            payload.extend_from_slice(fields.opt_b("V")?.unwrap_or_default());
        }
        Ok(Some(payload))
    }

    /// Deletes whatever chunks of `version` exist (when their count is unknown, e.g.
    /// left by an owner that died while writing them).
    pub(crate) async fn delete_found(&self, version: &str) -> StoreResult<()> {
        let mut requests = Vec::new();
        for key in self.query_version(version, true).await? {
            let delete = DeleteRequest::builder()
                .set_key(Some(key))
                .build()
                .map_err(|e| StoreError::backend("building a chunk delete", e))?;
            requests.push(WriteRequest::builder().delete_request(delete).build());
        }
        batch_write(self.table, self.metrics, requests).await
    }

    /// Deletes the `count` chunks of `version`.
    pub(crate) async fn delete(&self, version: &str, count: u32) -> StoreResult<()> {
        let mut requests = Vec::with_capacity(count as usize);
        for n in 0..count {
            let delete = DeleteRequest::builder()
                .set_key(Some(item::key((
                    self.pk.clone(),
                    keys::chunk_sk(version, n),
                ))))
                .build()
                .map_err(|e| StoreError::backend("building a chunk delete", e))?;
            requests.push(WriteRequest::builder().delete_request(delete).build());
        }
        batch_write(self.table, self.metrics, requests).await
    }
}

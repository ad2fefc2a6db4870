//! The DynamoDB stores as a conformance backend: one fresh table per test, every
//! factory call a new store (a stand-in for another process) on that table.

use std::sync::Arc;

use async_trait::async_trait;
use comic_vine_dynamodb_store::local::TestTable;
use comic_vine_dynamodb_store::{DynamoDbCacheStore, DynamoDbConfig, DynamoDbDedupeStore, Table};
use comic_vine_store::conformance::{CacheBackend, DedupeBackend, RawCacheBackend, Setup};
use comic_vine_store::{CacheStore, DedupeStore, RawJson, StoreResult};
use serde_json::Value;

use super::local;

pub struct DynamoBackend {
    pub table: TestTable,
}

impl DynamoBackend {
    pub async fn fresh() -> Self {
        Self {
            table: local().fresh_table().await.expect("fresh table"),
        }
    }

    /// A table handle configured from `setup`.
    pub fn handle(&self, setup: &Setup) -> StoreResult<Table> {
        let config = DynamoDbConfig::builder()
            .table_name(self.table.name())
            .client(self.table.client().clone())
            .cache(setup.cache.clone())
            .dedupe(setup.dedupe.clone())
            .rate_limits(setup.rate_limits.clone())
            .adaptive(setup.adaptive.clone())
            .clock(setup.store_clock())
            .build()?;
        Ok(Table::new(self.table.client().clone(), config))
    }
}

#[async_trait]
impl CacheBackend for DynamoBackend {
    async fn cache(&self, setup: &Setup) -> StoreResult<Arc<dyn CacheStore<Value>>> {
        Ok(Arc::new(DynamoDbCacheStore::new(&self.handle(setup)?)))
    }
}

#[async_trait]
impl RawCacheBackend for DynamoBackend {
    async fn raw_cache(&self, setup: &Setup) -> StoreResult<Arc<dyn CacheStore<RawJson>>> {
        Ok(Arc::new(DynamoDbCacheStore::new(&self.handle(setup)?)))
    }
}

#[async_trait]
impl DedupeBackend for DynamoBackend {
    async fn dedupe(&self, setup: &Setup) -> StoreResult<Arc<dyn DedupeStore<Value>>> {
        Ok(Arc::new(DynamoDbDedupeStore::new(&self.handle(setup)?)))
    }
}

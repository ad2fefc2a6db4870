//! The DynamoDB stores as a conformance backend: one fresh table per test, every
//! factory call a new store (a stand-in for another process) on that table.

use std::sync::Arc;

use async_trait::async_trait;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::Client;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::AttributeValue;
use comic_vine_dynamodb_store::local::TestTable;
use comic_vine_dynamodb_store::{
    DynamoDbAdaptiveRateLimitStore, DynamoDbCacheStore, DynamoDbConfig, DynamoDbDedupeStore,
    DynamoDbRateLimitStore, PK, Table,
};
use comic_vine_store::conformance::{CacheBackend, DedupeBackend, RawCacheBackend, Setup};
use comic_vine_store::{CacheStore, DedupeStore, RawJson, StoreResult};
use serde_json::Value;

use super::local;

/// A consistent Query of partition `pk` of `table`.
pub fn partition_query(client: &Client, table: &str, pk: &str) -> QueryFluentBuilder {
    client
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
        .consistent_read(true)
}

pub struct DynamoBackend {
    pub table: TestTable,
}

impl DynamoBackend {
    pub async fn fresh() -> Self {
        Self {
            table: local().fresh_table().await.expect("fresh table"),
        }
    }

    /// A table handle with `setup`'s clock.
    pub fn handle(&self, setup: &Setup) -> StoreResult<Table> {
        let config = DynamoDbConfig::builder()
            .table_name(self.table.name())
            .client(self.table.client().clone())
            .clock(setup.store_clock())
            .build()?;
        Ok(Table::new(self.table.client().clone(), config))
    }

    /// A rate limiter with `setup`'s limits.
    pub fn limiter(&self, setup: &Setup) -> StoreResult<DynamoDbRateLimitStore> {
        DynamoDbRateLimitStore::builder(&self.handle(setup)?)
            .limits(setup.rate_limits.clone())
            .build()
    }

    /// An adaptive limiter with `setup`'s limits and adaptive settings.
    pub fn adaptive_limiter(&self, setup: &Setup) -> StoreResult<DynamoDbAdaptiveRateLimitStore> {
        DynamoDbAdaptiveRateLimitStore::builder(&self.handle(setup)?)
            .limits(setup.rate_limits.clone())
            .adaptive(setup.adaptive.clone())
            .build()
    }

    /// A dedupe store with `setup`'s dedupe settings.
    pub fn dedupe_store(&self, setup: &Setup) -> StoreResult<DynamoDbDedupeStore<Value>> {
        DynamoDbDedupeStore::builder(&self.handle(setup)?)
            .config(setup.dedupe.clone())
            .build()
    }

    /// How many items partition `pk` holds (e.g. a value's chunks), read consistently.
    pub async fn items_in(&self, pk: String) -> usize {
        let query = partition_query(self.table.client(), self.table.name(), &pk);
        query.send().await.expect("Query").count as usize
    }

    /// A cache store with `setup`'s cache settings.
    pub fn cache_store<V>(&self, setup: &Setup) -> StoreResult<DynamoDbCacheStore<V>>
    where
        V: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        DynamoDbCacheStore::builder(&self.handle(setup)?)
            .config(setup.cache.clone())
            .build()
    }
}

#[async_trait]
impl CacheBackend for DynamoBackend {
    async fn cache(&self, setup: &Setup) -> StoreResult<Arc<dyn CacheStore<Value>>> {
        Ok(Arc::new(self.cache_store(setup)?))
    }
}

#[async_trait]
impl RawCacheBackend for DynamoBackend {
    async fn raw_cache(&self, setup: &Setup) -> StoreResult<Arc<dyn CacheStore<RawJson>>> {
        Ok(Arc::new(self.cache_store(setup)?))
    }
}

#[async_trait]
impl DedupeBackend for DynamoBackend {
    async fn dedupe(&self, setup: &Setup) -> StoreResult<Arc<dyn DedupeStore<Value>>> {
        Ok(Arc::new(self.dedupe_store(setup)?))
    }
}

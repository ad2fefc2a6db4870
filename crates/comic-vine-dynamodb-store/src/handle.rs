//! [`Table`]: a connected table, from which every store is made.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use comic_vine_store::StoreError;

use crate::config::DynamoDbConfig;
use crate::sdk_error::map_sdk_error;

/// A client and the configuration of one table: the handle the stores are built from.
/// Cheap to clone; stores made from clones share the client's connection pool.
///
/// ```no_run
/// use comic_vine_dynamodb_store::{DynamoDbCacheStore, DynamoDbConfig};
///
/// # async fn example() -> comic_vine_store::StoreResult<()> {
/// let table = DynamoDbConfig::builder().region("us-east-1").build()?.connect().await?;
/// let cache: DynamoDbCacheStore<serde_json::Value> = DynamoDbCacheStore::new(&table);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Table {
    client: Client,
    config: Arc<DynamoDbConfig>,
    /// The cache resources (as keys carry them) this handle and its clones have added
    /// to the table's registry: each is added once per handle.
    registered: Arc<Mutex<HashSet<String>>>,
}

/// What the rate-limit and adaptive store builders of a table build on (see
/// [`comic_vine_store::builder::StoreBuilder`]).
#[derive(Clone, Debug)]
pub struct OnTable(pub(crate) Table);

impl Table {
    /// A handle on the table `config` names, through `client`.
    pub fn new(client: Client, config: DynamoDbConfig) -> Self {
        Self {
            client,
            config: Arc::new(config),
            registered: Arc::default(),
        }
    }

    /// Whether cache resource `part` is known to be in the table's registry.
    pub(crate) fn is_registered(&self, part: &str) -> bool {
        let set = self
            .registered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        set.contains(part)
    }

    /// Remembers that cache resource `part` is in the table's registry.
    pub(crate) fn mark_registered(&self, part: &str) {
        let mut set = self
            .registered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        set.insert(part.to_owned());
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        self.config.table_name()
    }

    /// The configuration.
    pub fn config(&self) -> &DynamoDbConfig {
        &self.config
    }

    /// Maps an SDK error of request `operation` to a [`StoreError`].
    pub(crate) fn error<E>(&self, operation: &str, err: SdkError<E, HttpResponse>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        map_sdk_error(operation, self.name(), err)
    }
}

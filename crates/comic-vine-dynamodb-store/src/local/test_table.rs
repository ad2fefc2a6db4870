//! Uniquely named tables for tests.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::Client;
use comic_vine_store::StoreResult;

use crate::sdk_error::map_sdk_error;

/// A table with the project's schema, made for one test (see
/// [`DynamoDbLocal::fresh_table`](super::DynamoDbLocal::fresh_table)).
///
/// Dropping it leaves the table in place (the in-memory server goes away with the test
/// process); call [`delete`](Self::delete) to remove it earlier.
#[derive(Debug, Clone)]
pub struct TestTable {
    name: String,
    client: Client,
}

impl TestTable {
    pub(super) fn new(name: String, client: Client) -> Self {
        Self { name, client }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A client for the server that holds the table.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Deletes the table.
    ///
    /// # Errors
    ///
    /// [`StoreError::TableNotFound`](comic_vine_store::StoreError::TableNotFound) if it is
    /// already gone, or the failure of the `DeleteTable` call.
    pub async fn delete(self) -> StoreResult<()> {
        self.client
            .delete_table()
            .table_name(&self.name)
            .send()
            .await
            .map_err(|err| map_sdk_error("DeleteTable", &self.name, err))?;
        Ok(())
    }
}

/// A table name no other test uses: `{prefix}-{pid}-{counter}-{random}`, e.g.
/// `test-4711-3-9f2c41d07a5be113`. Several test processes may share one server.
pub fn unique_table_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    let random = RandomState::new().hash_one((pid, counter, std::time::SystemTime::now()));
    format!("{prefix}-{pid}-{counter}-{random:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::validate_table_name;

    #[test]
    fn unique_names_are_valid_and_distinct() {
        let a = unique_table_name("test");
        let b = unique_table_name("test");
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("test-{}-", std::process::id())));
        assert!(validate_table_name(&a).is_ok());
    }
}

//! The project's single DynamoDB table, as code.
//!
//! One table holds every item. Its schema:
//!
//! | what | value |
//! | --- | --- |
//! | name | [`DEFAULT_TABLE_NAME`] unless configured |
//! | partition key | [`PK`], string |
//! | sort key | [`SK`], string |
//! | global secondary index | [`GSI1`] on [`GSI1PK`] (string) / [`GSI1SK`] (string), projection `ALL` |
//! | time to live | enabled on [`TTL`] (number, epoch seconds) |
//! | billing | on demand (`PAY_PER_REQUEST`) |
//!
//! [`table_definition`] returns it as plain data (renderable as AWS CLI or CloudFormation
//! JSON), [`create_table`] creates it and [`verify_table`] lists how an existing table
//! differs from it.

mod create;
mod definition;
mod name;
mod verify;

pub use create::{TABLE_ACTIVE_TIMEOUT, create_table};
pub use definition::{
    AttributeType, BillingMode, GlobalSecondaryIndex, KeyAttribute, KeySchema, Projection,
    TableDefinition, table_definition,
};
pub use name::validate_table_name;
pub use verify::{KeyRole, TableDifference, verify_table};

/// The table's name unless configured otherwise.
pub const DEFAULT_TABLE_NAME: &str = "comic-vine-store";
/// The partition key attribute (string).
pub const PK: &str = "PK";
/// The sort key attribute (string).
pub const SK: &str = "SK";
/// The time-to-live attribute (number, expiry in epoch seconds).
pub const TTL: &str = "TTL";
/// The name of the global secondary index.
pub const GSI1: &str = "GSI1";
/// The partition key attribute of [`GSI1`] (string).
pub const GSI1PK: &str = "GSI1PK";
/// The sort key attribute of [`GSI1`] (string).
pub const GSI1SK: &str = "GSI1SK";

//! Creating the table.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::types::{
    self as ddb, IndexStatus, KeyType, ScalarAttributeType, TableDescription, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use comic_vine_store::{StoreError, StoreResult};
use tokio::time::{Instant, sleep};

use super::definition::{
    AttributeType, BillingMode, KeySchema, Projection, TableDefinition, table_definition,
};
use super::name::validate_table_name;
use super::verify::{TableDifference, describe_table, schema_differences, ttl_difference};
use crate::sdk_error::{error_code, map_sdk_error};

/// How long [`create_table`] waits for a table (and its indexes) to become `ACTIVE`.
pub const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// The first pause between two `DescribeTable` polls; it doubles up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(50);
/// The longest pause between two `DescribeTable` polls.
const MAX_POLL: Duration = Duration::from_secs(2);

/// Creates table `table_name` with the project's schema (see [`table_definition`]), waits
/// until it and its indexes are `ACTIVE` (at most [`TABLE_ACTIVE_TIMEOUT`]) and enables
/// time to live on [`TTL`](super::TTL).
///
/// Idempotent: if the table already exists with the right key schema and indexes, only
/// time to live is enabled if needed, and the call succeeds.
///
/// # Errors
///
/// - [`StoreError::InvalidConfig`] (field `table_name`) for an invalid name, or for an
///   existing table with another schema (the message lists the differences).
/// - [`StoreError::OperationTimeout`] if the table is not `ACTIVE` in time.
/// - [`StoreError::Throttled`] or [`StoreError::Backend`] for failed DynamoDB calls.
pub async fn create_table(client: &Client, table_name: &str) -> StoreResult<()> {
    validate_table_name(table_name)?;
    let definition = table_definition(table_name);

    let request = client
        .create_table()
        .table_name(&definition.table_name)
        .set_attribute_definitions(Some(attribute_definitions(&definition)?))
        .set_key_schema(Some(key_schema(&definition.key_schema)?))
        .set_global_secondary_indexes(Some(global_secondary_indexes(&definition)?))
        .billing_mode(billing_mode(definition.billing_mode));
    match request.send().await {
        Ok(_) => tracing::info!(table = table_name, "created DynamoDB table"),
        Err(err) if error_code(&err) == Some("ResourceInUseException") => {
            tracing::debug!(table = table_name, "DynamoDB table already exists");
        }
        Err(err) => return Err(map_sdk_error("CreateTable", table_name, err)),
    }

    let description = wait_until_active(client, table_name, TABLE_ACTIVE_TIMEOUT).await?;
    let differences = schema_differences(&definition, &description);
    if !differences.is_empty() {
        return Err(schema_conflict(table_name, &differences));
    }
    enable_ttl(client, &definition).await
}

fn schema_conflict(table_name: &str, differences: &[TableDifference]) -> StoreError {
    let list: Vec<String> = differences.iter().map(ToString::to_string).collect();
    StoreError::invalid_config(
        "table_name",
        format!(
            "table `{table_name}` already exists with another schema: {}",
            list.join("; ")
        ),
    )
}

/// Polls `DescribeTable` until the table and all its global secondary indexes are `ACTIVE`.
async fn wait_until_active(
    client: &Client,
    table_name: &str,
    timeout: Duration,
) -> StoreResult<TableDescription> {
    let deadline = Instant::now() + timeout;
    let mut pause = FIRST_POLL;
    loop {
        let description = describe_table(client, table_name).await?;
        let table_active = description.table_status() == Some(&TableStatus::Active);
        let indexes_active = description
            .global_secondary_indexes()
            .iter()
            .all(|i| i.index_status() == Some(&IndexStatus::Active));
        if table_active && indexes_active {
            return Ok(description);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(StoreError::OperationTimeout {
                operation: format!("create table `{table_name}` (wait until ACTIVE)"),
                timeout,
            });
        }
        sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// Enables time to live on the definition's attribute unless it already is.
async fn enable_ttl(client: &Client, definition: &TableDefinition) -> StoreResult<()> {
    let table_name = definition.table_name.as_str();
    let current = client
        .describe_time_to_live()
        .table_name(table_name)
        .send()
        .await
        .map_err(|err| map_sdk_error("DescribeTimeToLive", table_name, err))?
        .time_to_live_description;
    let status = current.as_ref().and_then(|d| d.time_to_live_status());
    match ttl_difference(definition, current.as_ref()) {
        None => return Ok(()),
        Some(difference @ TableDifference::TtlAttribute { .. }) => {
            return Err(schema_conflict(table_name, &[difference]));
        }
        Some(_) if status == Some(&TimeToLiveStatus::Disabling) => {
            return Err(StoreError::backend(
                format!(
                    "cannot enable time to live on table `{table_name}` while it is being \
                     disabled; try again later"
                ),
                "time to live status DISABLING",
            ));
        }
        Some(_) => {}
    }
    let specification = TimeToLiveSpecification::builder()
        .attribute_name(&definition.ttl_attribute)
        .enabled(true)
        .build()
        .map_err(request_error)?;
    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(specification)
        .send()
        .await
        .map_err(|err| map_sdk_error("UpdateTimeToLive", table_name, err))?;
    tracing::info!(
        table = table_name,
        attribute = definition.ttl_attribute,
        "enabled time to live"
    );
    Ok(())
}

fn request_error(err: BuildError) -> StoreError {
    StoreError::backend("could not build a DynamoDB request", err)
}

fn attribute_definitions(
    definition: &TableDefinition,
) -> StoreResult<Vec<ddb::AttributeDefinition>> {
    definition
        .attribute_definitions()
        .into_iter()
        .map(|a| {
            ddb::AttributeDefinition::builder()
                .attribute_name(&a.name)
                .attribute_type(scalar_type(a.attribute_type))
                .build()
                .map_err(request_error)
        })
        .collect()
}

fn key_schema(keys: &KeySchema) -> StoreResult<Vec<ddb::KeySchemaElement>> {
    [
        (&keys.partition_key.name, KeyType::Hash),
        (&keys.sort_key.name, KeyType::Range),
    ]
    .into_iter()
    .map(|(name, key_type)| {
        ddb::KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(request_error)
    })
    .collect()
}

fn global_secondary_indexes(
    definition: &TableDefinition,
) -> StoreResult<Vec<ddb::GlobalSecondaryIndex>> {
    definition
        .global_secondary_indexes
        .iter()
        .map(|index| {
            ddb::GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(
                    ddb::Projection::builder()
                        .projection_type(projection_type(index.projection))
                        .build(),
                )
                .build()
                .map_err(request_error)
        })
        .collect()
}

fn scalar_type(attribute_type: AttributeType) -> ScalarAttributeType {
    match attribute_type {
        AttributeType::String => ScalarAttributeType::S,
        AttributeType::Number => ScalarAttributeType::N,
        AttributeType::Binary => ScalarAttributeType::B,
    }
}

fn projection_type(projection: Projection) -> ddb::ProjectionType {
    match projection {
        Projection::All => ddb::ProjectionType::All,
        Projection::KeysOnly => ddb::ProjectionType::KeysOnly,
    }
}

fn billing_mode(mode: BillingMode) -> ddb::BillingMode {
    match mode {
        BillingMode::PayPerRequest => ddb::BillingMode::PayPerRequest,
    }
}

//! `verify_table` reports exactly how a table differs from the schema.

use comic_vine_dynamodb_store::aws_sdk_dynamodb::Client;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use comic_vine_dynamodb_store::local::unique_table_name;
use comic_vine_dynamodb_store::{PK, SK, TTL, TableDifference, verify_table};

use super::local;

#[tokio::test]
async fn fresh_table_has_no_differences() {
    let table = local().fresh_table().await.expect("fresh table");
    let differences = verify_table(table.client(), table.name())
        .await
        .expect("verify");
    assert_eq!(differences, []);
}

#[tokio::test]
async fn missing_table_is_reported_missing() {
    let client = local().client();
    let name = unique_table_name("missing");
    let differences = verify_table(&client, &name).await.expect("verify");
    assert_eq!(
        differences,
        [TableDifference::TableMissing {
            table: name.clone()
        }]
    );
    assert_eq!(
        differences[0].to_string(),
        format!("table `{name}` does not exist")
    );
}

/// Creates a table with the right primary key but no index, optionally with TTL.
async fn create_without_gsi(client: &Client, name: &str, ttl: bool) {
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .expect("key")
    };
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(attribute(PK))
        .attribute_definitions(attribute(SK))
        .key_schema(key(PK, KeyType::Hash))
        .key_schema(key(SK, KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("CreateTable");
    if ttl {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL)
                    .enabled(true)
                    .build()
                    .expect("spec"),
            )
            .send()
            .await
            .expect("UpdateTimeToLive");
    }
}

/// What `verify_table` finds on a new table (named after `prefix`) without the index,
/// its TTL on if `ttl`.
async fn differences_without_gsi(prefix: &str, ttl: bool) -> Vec<TableDifference> {
    let client = local().client();
    let name = unique_table_name(prefix);
    create_without_gsi(&client, &name, ttl).await;
    verify_table(&client, &name).await.expect("verify")
}

#[tokio::test]
async fn table_without_gsi_reports_only_the_missing_index() {
    assert_eq!(
        differences_without_gsi("nogsi", true).await,
        [TableDifference::IndexMissing {
            index: "GSI1".into()
        }]
    );
}

#[tokio::test]
async fn table_without_gsi_and_ttl_reports_both() {
    assert_eq!(
        differences_without_gsi("nottl", false).await,
        [
            TableDifference::IndexMissing {
                index: "GSI1".into()
            },
            TableDifference::TtlDisabled {
                attribute: TTL.into(),
                status: "DISABLED".into(),
            },
        ]
    );
}

#[tokio::test]
async fn ttl_on_another_attribute_is_reported() {
    let table = local().fresh_table().await.expect("fresh table");
    let client = table.client();
    // Real DynamoDB refuses to switch TTL attributes directly; DynamoDB Local allows it.
    let update = |attribute: &str, enabled| {
        client
            .update_time_to_live()
            .table_name(table.name())
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(enabled)
                    .build()
                    .expect("spec"),
            )
            .send()
    };
    update(TTL, false).await.expect("disable TTL");
    update("expiresAt", true)
        .await
        .expect("enable TTL on expiresAt");

    let differences = verify_table(client, table.name()).await.expect("verify");
    assert_eq!(
        differences,
        [TableDifference::TtlAttribute {
            expected: TTL.into(),
            actual: Some("expiresAt".into()),
        }]
    );
}

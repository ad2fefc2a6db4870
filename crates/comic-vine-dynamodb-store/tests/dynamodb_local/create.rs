//! `create_table` is idempotent and refuses a conflicting table.

use comic_vine_dynamodb_store::local::unique_table_name;
use comic_vine_dynamodb_store::{PK, create_table, verify_table};
use comic_vine_store::StoreError;
use comic_vine_testkit::dynamodb::create_key_only_table;

use super::local;

#[tokio::test]
async fn create_table_twice_succeeds_and_matches_the_schema() {
    let client = local().client();
    let name = unique_table_name("create");

    create_table(&client, &name).await.expect("first create");
    create_table(&client, &name)
        .await
        .expect("second create is a no-op");

    let differences = verify_table(&client, &name).await.expect("verify");
    assert_eq!(differences, []);
}

#[tokio::test]
async fn create_table_enables_ttl_on_an_existing_table_without_it() {
    let table = local().fresh_table().await.expect("fresh table");
    let client = table.client();
    client
        .update_time_to_live()
        .table_name(table.name())
        .time_to_live_specification(
            comic_vine_dynamodb_store::aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .attribute_name("TTL")
                .enabled(false)
                .build()
                .expect("spec"),
        )
        .send()
        .await
        .expect("disable TTL");
    assert_eq!(
        verify_table(client, table.name())
            .await
            .expect("verify")
            .len(),
        1
    );

    create_table(client, table.name())
        .await
        .expect("create enables TTL");
    assert_eq!(
        verify_table(client, table.name()).await.expect("verify"),
        []
    );
}

#[tokio::test]
async fn create_table_rejects_an_existing_table_with_another_schema() {
    let client = local().client();
    let name = unique_table_name("conflict");
    create_key_only_table(&name, PK).await;

    match create_table(&client, &name).await {
        Err(StoreError::InvalidConfig { field, reason }) => {
            assert_eq!(field, "table_name");
            assert!(
                reason.contains("already exists with another schema"),
                "{reason}"
            );
            assert!(reason.contains("sort key (RANGE) is missing"), "{reason}");
            assert!(reason.contains("`GSI1` is missing"), "{reason}");
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[tokio::test]
async fn create_table_rejects_an_invalid_name_before_any_call() {
    let client = local().client();
    match create_table(&client, "no spaces allowed").await {
        Err(StoreError::InvalidConfig { field, .. }) => assert_eq!(field, "table_name"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

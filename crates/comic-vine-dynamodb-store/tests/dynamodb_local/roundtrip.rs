//! A fresh table accepts an item and returns it.

use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::AttributeValue;
use comic_vine_dynamodb_store::{PK, SK, TTL};

use super::local;

#[tokio::test]
async fn put_then_get_returns_the_item() {
    let table = local().fresh_table().await.expect("fresh table");
    let client = table.client();

    client
        .put_item()
        .table_name(table.name())
        .item(PK, AttributeValue::S("cache#abc".into()))
        .item(SK, AttributeValue::S("v1".into()))
        .item("body", AttributeValue::S(r#"{"id":4050}"#.into()))
        .item(TTL, AttributeValue::N("4102444800".into()))
        .send()
        .await
        .expect("PutItem");

    let item = client
        .get_item()
        .table_name(table.name())
        .key(PK, AttributeValue::S("cache#abc".into()))
        .key(SK, AttributeValue::S("v1".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
        .expect("the item just put");
    assert_eq!(
        item.get("body"),
        Some(&AttributeValue::S(r#"{"id":4050}"#.into()))
    );
    assert_eq!(item.get(TTL), Some(&AttributeValue::N("4102444800".into())));

    let other = client
        .get_item()
        .table_name(table.name())
        .key(PK, AttributeValue::S("cache#abc".into()))
        .key(SK, AttributeValue::S("v2".into()))
        .send()
        .await
        .expect("GetItem");
    assert_eq!(other.item, None);

    table.delete().await.expect("DeleteTable");
}

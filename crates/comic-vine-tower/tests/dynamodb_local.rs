//! The tower layer on the DynamoDB stores (DynamoDB Local, started by the `local`
//! harness or the one `DYNAMODB_ENDPOINT` names): every client stands for a process,
//! with its own DynamoDB client and store instances on one shared table.

mod support;

use std::time::Duration;

use comic_vine_store::pipeline::{PipelineConfig, ServedBy};
use comic_vine_testkit::dynamodb::{fresh_table, process_client};
use comic_vine_testkit::stub;
use support::{Tower, get};

// The scenarios the reqwest middleware runs too.
comic_vine_testkit::dynamodb_tests!(Tower);

#[tokio::test]
async fn another_process_gets_the_second_request_from_the_shared_cache() {
    let table = fresh_table().await;
    let api = stub(Duration::ZERO).await;
    let (one, two) = (
        process_client::<Tower>(&table, PipelineConfig::default()),
        process_client::<Tower>(&table, PipelineConfig::default()),
    );
    let url = |key: &str| format!("{}/issues/?api_key={key}&format=json&limit=3", api.url());
    let first = get(&one, &url("A")).await.unwrap();
    let second = get(&two, &url("B")).await.unwrap();
    assert_eq!(
        (first.served_by, second.served_by),
        (Some(ServedBy::Upstream), Some(ServedBy::Cache))
    );
    assert_eq!(second.body, first.body);
    assert_eq!(second.headers["content-type"], "application/json");
    assert_eq!(api.calls_to("issues"), 1);
}

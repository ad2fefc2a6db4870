//! `http-cache-reqwest` on the DynamoDB store (DynamoDB Local, started by the `local`
//! harness or the one `DYNAMODB_ENDPOINT` names), against the stub API: every client
//! stands for a process, with its own DynamoDB client and store on one shared table.

mod support;

use std::sync::Arc;

use comic_vine_dynamodb_store::DynamoDbCacheStore;
use comic_vine_dynamodb_store::local::TestTable;
use comic_vine_http_cache::HttpCacheEntry;
use comic_vine_store::CacheStore;
use comic_vine_testkit::dynamodb::{fresh_table, process_table};
use support::{client, get, stub};

/// One process's cache store on `table`.
fn process_store(table: &TestTable) -> Arc<DynamoDbCacheStore<HttpCacheEntry>> {
    Arc::new(DynamoDbCacheStore::new(&process_table(table)))
}

#[tokio::test]
async fn a_second_process_is_served_from_the_table() {
    let table = fresh_table().await;
    let api = stub().await;
    let url = format!("{}/issue/4000-9/?format=json", api.url());

    let first = get(&client(process_store(&table)), &url).await;
    assert_eq!(first.0, 200);
    let second = get(&client(process_store(&table)), &url).await;
    assert_eq!(second, first);
    assert_eq!(api.total_calls(), 1, "the second process reached the stub");
    assert_eq!(process_store(&table).stats().await.unwrap().entries, 1);
}

#[tokio::test]
async fn a_response_over_400_kb_round_trips_through_the_table() {
    let table = fresh_table().await;
    let api = stub().await;
    let writer = client(process_store(&table));
    // The stub makes one list in eight ~600 KB, by path: find one.
    let mut big = None;
    for offset in 0..64 {
        let url = format!("{}/issues/?offset={offset}", api.url());
        let (status, body) = get(&writer, &url).await;
        assert_eq!(status, 200);
        if body.len() > 400 * 1024 {
            big = Some((url, body));
            break;
        }
    }
    let (url, body) = big.expect("the stub serves a list over 400 KB");
    let calls = api.total_calls();

    let (status, again) = get(&client(process_store(&table)), &url).await;
    assert_eq!(status, 200);
    assert_eq!(
        api.total_calls(),
        calls,
        "served from the table, not the stub"
    );
    assert_eq!(again.len(), body.len());
    assert!(again == body, "the body came back changed");
}

//! Stale-while-revalidate across OS processes: this test binary runs itself as eight
//! children ([`swr_child`], given the table, the stub's URL and a start gate by
//! environment variables), each a reqwest client under the middleware on its own
//! DynamoDB stores of one table, asking for one stale key at once.

use std::time::Duration;

use comic_vine_reqwest::SERVED_BY_HEADER;
use comic_vine_testkit::dynamodb::{
    STALE_BODY, assert_refreshed, assert_served_stale_while_revalidating, fresh_table,
    process_table, store_stale_entry, stores_on, swr_config, table_named,
};
use comic_vine_testkit::{Driver, stub};

use super::Reqwest;
use super::gate::{StartGate, open_when_ready, pass_gate};
use super::reaped::{Reaped, child_command};

const TABLE: &str = "SWR_CHILD_TABLE";
const URL: &str = "SWR_CHILD_URL";
const GATE: &str = "SWR_CHILD_GATE";
/// The child's test, as `--exact` names it.
const CHILD_TEST: &str = "processes::swr_child";
const CHILDREN: usize = 8;

/// The child process: does nothing unless started by the test below. Asks once at the
/// gate's opening, prints how it was answered, and waits for its background refresh.
#[tokio::test]
#[ignore = "child process of eight_os_processes_on_a_stale_key_answer_stale_and_refresh_once"]
async fn swr_child() {
    let Ok(table) = std::env::var(TABLE) else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let pipeline = stores_on(&table_named(&table)).pipeline(swr_config());
    let client = Reqwest::from_pipeline(pipeline.clone());
    let url = var(URL);
    pass_gate(std::path::Path::new(&var(GATE))).await;
    let answer = Reqwest::get(&client, &url).await.unwrap();
    assert_served_stale_while_revalidating(&answer);
    let by = answer.headers[SERVED_BY_HEADER].to_str().unwrap();
    println!("RESULT x-served-by={by} body={}", answer.body);
    pipeline.refreshes_idle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_os_processes_on_a_stale_key_answer_stale_and_refresh_once() {
    let table = fresh_table().await;
    // The refresh takes 1 s at the stub: the eight are answered meanwhile.
    let api = stub(Duration::from_secs(1)).await;
    let url = format!("{}/issues/?api_key=k&filter=id:2", api.url());
    store_stale_entry(&process_table(&table), &url).await;
    let gate = StartGate::new("swr");
    let children: Vec<Reaped> = (0..CHILDREN)
        .map(|_| {
            let mut command = child_command(CHILD_TEST);
            command
                .env(TABLE, table.name())
                .env(URL, &url)
                .env(GATE, gate.path());
            Reaped::spawn(&mut command)
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        open_when_ready(gate.path(), CHILDREN);
        children.into_iter().map(Reaped::output).collect::<Vec<_>>()
    })
    .await
    .unwrap();

    let expected = format!("x-served-by=stale body={STALE_BODY}");
    for out in &outputs {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed: {stdout}\n{stderr}");
        let results: Vec<&str> = stdout
            .lines()
            .filter_map(|line| line.split_once("RESULT ").map(|(_, rest)| rest.trim()))
            .collect();
        assert_eq!(results, [expected.as_str()], "{stderr}");
    }
    assert_eq!(
        api.total_calls(),
        1,
        "one refresh across the eight processes"
    );
    let client = Reqwest::client(stores_on(&process_table(&table)), swr_config());
    assert_refreshed::<Reqwest>(&client, &url, &api).await;
}

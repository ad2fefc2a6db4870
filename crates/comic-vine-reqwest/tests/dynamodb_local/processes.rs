//! Stale-while-revalidate across OS processes: this test binary runs itself as eight
//! children ([`swr_child`], given the stores, the stub's URL and a start gate by
//! environment variables), each a reqwest client under the middleware on stores of its
//! own over one DynamoDB Local table or one SQLite file, asking for one stale key at
//! once.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_reqwest::{CachedResponse, SERVED_BY_HEADER};
use comic_vine_sqlite_store::{SqliteCacheStore, SqliteStateCell, SqliteStore};
use comic_vine_store::cell::{CellDedupeStore, CellRateLimitStore};
use comic_vine_stub::StubApi;
use comic_vine_testkit::dynamodb::{fresh_table, stores_on, table_named};
use comic_vine_testkit::fleet::{
    STALE_BODY, assert_refreshed, assert_served_stale_while_revalidating, store_stale_entry,
    swr_config,
};
use comic_vine_testkit::{Driver, Stores, generous_limits, polling_dedupe, stub};

use super::Reqwest;
use super::gate::{StartGate, pass_gate, run_at_gate};
use super::reaped::{Reaped, child_command, results};

/// `dynamodb:<table>` or `sqlite:<path>`.
const STORES: &str = "SWR_CHILD_STORES";
const URL: &str = "SWR_CHILD_URL";
const GATE: &str = "SWR_CHILD_GATE";
/// The child's test, as `--exact` names it.
const CHILD_TEST: &str = "processes::swr_child";
const CHILDREN: usize = 8;

/// One process's stores on what `spec` names (see [`STORES`]).
async fn stores(spec: &str) -> Stores {
    match spec.split_once(':') {
        Some(("dynamodb", table)) => stores_on(&table_named(table)),
        Some(("sqlite", path)) => {
            let db = SqliteStore::open(path).await.unwrap();
            let cell = Arc::new(SqliteStateCell::new(&db));
            let clock = Arc::clone(db.clock());
            let dedupe = CellDedupeStore::new(Arc::clone(&cell), Arc::clone(&clock));
            Stores {
                cache: Arc::new(SqliteCacheStore::<CachedResponse>::new(&db)),
                dedupe: Arc::new(dedupe.with_config(polling_dedupe()).unwrap()),
                limiter: Arc::new(CellRateLimitStore::new(cell, generous_limits(), clock)),
            }
        }
        _ => panic!("{STORES} is {spec}"),
    }
}

/// The child process: does nothing unless started by a test below. Asks once at the
/// gate's opening, prints how it was answered, and waits for its background refresh.
#[tokio::test]
#[ignore = "child process of the eight_os_processes_on_a_stale_key tests"]
async fn swr_child() {
    let (Ok(spec), Ok(url), Ok(gate)) = (
        std::env::var(STORES),
        std::env::var(URL),
        std::env::var(GATE),
    ) else {
        return;
    };
    let pipeline = stores(&spec).await.pipeline(swr_config());
    let client = Reqwest::from_pipeline(pipeline.clone());
    pass_gate(std::path::Path::new(&gate)).await;
    let answer = Reqwest::get(&client, &url).await.unwrap();
    assert_served_stale_while_revalidating(&answer);
    let by = answer.headers[SERVED_BY_HEADER].to_str().unwrap();
    println!("RESULT x-served-by={by} body={}", answer.body);
    pipeline.refreshes_idle().await;
}

/// Stores the stale entry on `spec`, runs the eight children at once, and asserts each
/// was answered stale, one refresh reached the stub and the entry is fresh after it.
async fn eight_children_on(spec: &str, api: &StubApi) {
    let url = format!("{}/issues/?api_key=k&filter=id:2", api.url());
    store_stale_entry(&*stores(spec).await.cache, &url).await;
    let gate = StartGate::new("swr");
    let children: Vec<Reaped> = (0..CHILDREN)
        .map(|_| {
            let mut command = child_command(CHILD_TEST);
            command
                .env(STORES, spec)
                .env(URL, &url)
                .env(GATE, gate.path());
            Reaped::spawn(&mut command)
        })
        .collect();
    let outputs = run_at_gate(gate.path(), children).await;

    let expected = format!("x-served-by=stale body={STALE_BODY}");
    for out in &outputs {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed: {stderr}");
        assert_eq!(results(&out.stdout), [expected.as_str()], "{stderr}");
    }
    assert_eq!(
        api.total_calls(),
        1,
        "one refresh across the eight processes"
    );
    let client = Reqwest::client(stores(spec).await, swr_config());
    assert_refreshed::<Reqwest>(&client, &url, api).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_os_processes_on_a_stale_key_answer_stale_and_refresh_once() {
    let table = fresh_table().await;
    // The refresh takes 1 s at the stub: the eight are answered meanwhile.
    let api = stub(Duration::from_secs(1)).await;
    eight_children_on(&format!("dynamodb:{}", table.name()), &api).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_os_processes_on_a_stale_key_of_one_sqlite_file_answer_stale_and_refresh_once() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("fleet.db");
    let api = stub(Duration::from_secs(1)).await;
    eight_children_on(&format!("sqlite:{}", path.display()), &api).await;
}

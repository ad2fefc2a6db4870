//! Entry times and stale serving on DynamoDB: what `touch` costs, stale answers on the
//! DynamoDB stores, and stale-while-revalidate across OS processes (this test binary
//! runs itself as the children, see [`stale_child`]).

use comic_vine_dynamodb_store::StoreControls;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use comic_vine_dynamodb_store::{DynamoDbCacheStore, DynamoDbConfig, Table};
use comic_vine_store::conformance::Setup;
use comic_vine_store::pipeline::{
    Pipeline, PipelineConfig, PipelineError, RefreshFuture, Request, ServedBy, StalePolicy,
    StaleReason, UpstreamError,
};
use comic_vine_store::{CacheStore, Freshness, RateLimit, RateLimitConfig, RateLimitStore};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::answer;
use super::backend::DynamoBackend;
use super::gate::{GATE_TIMEOUT, StartGate, count, pass_gate, run_at_gate};
use super::reaped::{Reaped, child_command, marked, results};
use super::stores::Stores;
use super::{local, value_of};

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn touch_is_one_update_of_the_entry_item_and_what_it_costs() {
    let (_backend, table) = DynamoBackend::fresh_handle().await;
    let cache: DynamoDbCacheStore<Value> = DynamoDbCacheStore::new(&table);
    // Everything up to one item inline: a touch then costs the whole item.
    let all_inline: DynamoDbCacheStore<Value> = DynamoDbCacheStore::builder(&table)
        .inline_limit(350 * 1024)
        .build()
        .unwrap();
    let freshness = Freshness::fresh_for(Some(MINUTE)).with_stale_for(60 * MINUTE);
    for (name, value) in [
        ("300 KB compressible", value_of(300, true)),
        ("300 KB incompressible (chunked)", value_of(300, false)),
        ("600 KB incompressible (chunked)", value_of(600, false)),
    ] {
        let before = cache.metrics();
        cache.set_entry(name, &value, freshness).await.unwrap();
        let set = cache.metrics();
        let stored = cache.get_entry(name).await.unwrap().unwrap();
        let read = cache.metrics();
        assert!(cache.touch(name, freshness).await.unwrap(), "{name}");
        let touched = cache.metrics();
        let (set_units, touch_units) = (
            set.write_units - before.write_units,
            touched.write_units - read.write_units,
        );
        eprintln!(
            "{name}: set_entry {} requests {set_units} WCU; touch {} request {touch_units} WCU",
            set.requests - before.requests,
            touched.requests - read.requests,
        );
        assert_eq!(
            touched.requests - read.requests,
            1,
            "{name}: touch is one UpdateItem"
        );
        assert!(
            touch_units <= set_units,
            "{name}: touch never costs more than a rewrite"
        );
        let after = cache.get_entry(name).await.unwrap().unwrap();
        assert_eq!(after.value, value, "{name}: the value is intact");
        assert!(after.stored_at >= stored.stored_at);
        assert!(
            touch_units <= 2.0,
            "{name}: a small entry item, {touch_units} WCU"
        );
        if name.contains("chunked") {
            assert_eq!(
                read.requests - set.requests,
                2,
                "{name}: a chunked value is read in two requests"
            );
        }
        // With new metadata (a response's headers, ~600 bytes): still one UpdateItem of
        // the entry item, the chunks untouched.
        let headers: Vec<(String, String)> = (0..12)
            .map(|i| (format!("x-header-{i}"), format!("value {i} ").repeat(4)))
            .collect();
        let meta = json!({ "headers": headers, "etag": "\"v2\"" });
        let before_meta = cache.metrics();
        assert!(cache.touch_with_meta(name, freshness, &meta).await.unwrap());
        let meta_touched = cache.metrics();
        let meta_units = meta_touched.write_units - before_meta.write_units;
        eprintln!("{name}: touch_with_meta 1 request {meta_units} WCU");
        assert_eq!(meta_touched.requests - before_meta.requests, 1, "{name}");
        assert!(meta_units <= 2.0, "{name}: {meta_units} WCU");
        let after = cache.get_entry(name).await.unwrap().unwrap();
        assert_eq!((&after.value, after.meta.as_ref()), (&value, Some(&meta)));
    }
    // The same 300 KB of incompressible JSON stored inline: the touch rewrites it.
    let name = "300 KB incompressible (inline)";
    let value = value_of(300, false);
    let before = all_inline.metrics();
    all_inline.set_entry(name, &value, freshness).await.unwrap();
    let set = all_inline.metrics();
    assert!(all_inline.touch(name, freshness).await.unwrap());
    let touched = all_inline.metrics();
    let (set_units, touch_units) = (
        set.write_units - before.write_units,
        touched.write_units - set.write_units,
    );
    eprintln!("{name}: set_entry {set_units} WCU; touch {touch_units} WCU");
    assert_eq!(set.requests - before.requests, 1, "one PutItem: inline");
    assert!(
        touch_units > 100.0 && touch_units <= set_units,
        "an inline entry's touch is billed at its size: {touch_units} WCU"
    );
    assert!(all_inline.get(name).await.unwrap() == Some(value));
    // A chunked entry whose chunks would expire before the new horizon is not touched.
    let long = Freshness::fresh_for(Some(24 * 60 * MINUTE)).with_stale_for(24 * 60 * MINUTE);
    let chunked = "600 KB incompressible (chunked)";
    assert!(
        !cache.touch(chunked, long).await.unwrap(),
        "the chunks' TTL bounds a touch"
    );
    assert!(
        cache.get(chunked).await.unwrap().is_some(),
        "and the entry is left as it was"
    );
}

/// A pipeline over `stores` on `setup`'s clock: entries fresh for a minute, served stale
/// as `stale` says.
fn pipeline(stores: &Stores, setup: &Setup, stale: StalePolicy) -> Pipeline<Value> {
    stores
        .pipeline_builder()
        .clock(setup.store_clock())
        .config(PipelineConfig {
            cache_ttl: Some(MINUTE),
            max_wait: Duration::from_secs(1),
            stale,
            ..PipelineConfig::default()
        })
        .build()
}

#[tokio::test]
async fn stale_if_error_and_a_spent_budget_answer_stale_on_dynamodb() {
    let backend = DynamoBackend::fresh().await;
    let mut setup = Setup::new();
    setup.rate_limits = RateLimitConfig::new(RateLimit::new(2, Duration::from_secs(3600)).unwrap());
    let stores = Stores::on(&backend.handle(&setup).unwrap(), setup.rate_limits.clone());
    let policy = StalePolicy {
        stale_if_error: 10 * MINUTE,
        ..StalePolicy::comic_vine()
    };
    let p = pipeline(&stores, &setup, policy);
    let r = Request::new("issues/list", json!({"offset": 0}), "issues");
    let before = stores.requests();
    answer(&p, &r, json!("v1")).await;
    eprintln!(
        "a miss with a stale horizon: {} requests",
        stores.requests() - before
    );

    setup.clock.advance(5 * MINUTE);
    let failed = p
        .execute(&r, || async { Err(UpstreamError::Failed("503".into())) })
        .await
        .unwrap();
    assert_eq!(
        (failed.served_by, failed.stale, failed.value),
        (ServedBy::Stale, Some(StaleReason::Error), json!("v1"))
    );

    // Both slots of the hour are spent now: stale, from two reads and no write.
    let before = stores.requests();
    let spent = answer(&p, &r, json!("not called")).await;
    assert_eq!(
        (spent.served_by, spent.stale),
        (ServedBy::Stale, Some(StaleReason::RateLimited))
    );
    eprintln!(
        "a stale answer while the budget is spent: {} requests",
        stores.requests() - before
    );
    let unseen = Request::new("issues/list", json!({"offset": 100}), "issues");
    let e = p
        .execute(&unseen, || async { Ok(json!("not called")) })
        .await
        .unwrap_err();
    assert!(matches!(e, PipelineError::WaitTooLong { .. }), "{e}");

    // Past stale_if_error: while the budget is spent it is still answered stale (rate
    // limited, within 24 h); with budget left, a failing upstream is an error.
    setup.clock.advance(20 * MINUTE);
    let still = p
        .execute(&r, || async { Err(UpstreamError::Failed("503".into())) })
        .await
        .unwrap();
    assert_eq!(still.stale, Some(StaleReason::RateLimited));
    stores.limiter.reset("issues").await.unwrap();
    let e = p
        .execute(&r, || async { Err(UpstreamError::Failed("503".into())) })
        .await
        .unwrap_err();
    assert!(
        matches!(e, PipelineError::Upstream { .. }),
        "past stale_if_error: {e}"
    );
}

// --- stale-while-revalidate across processes ---------------------------------------

const ROLE: &str = "STALE_CHILD_ROLE";
const TABLE: &str = "STALE_CHILD_TABLE";
const GATE: &str = "STALE_CHILD_GATE";
const COUNTER: &str = "STALE_CHILD_COUNTER";
const CHILD_TEST: &str = "stale::stale_child";
const CHILDREN: usize = 8;
/// What a child prints before the write units its cache store sent.
const CACHE_WRITES: &str = "CACHE_WRITE_UNITS ";

fn swr_request() -> Request {
    Request::new("issues/list", json!({"swr": true}), "issues")
}

fn swr_policy() -> StalePolicy {
    StalePolicy {
        stale_while_revalidate: 10 * MINUTE,
        ..StalePolicy::none()
    }
}

/// The child process: does nothing unless started by the test below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of the stale tests (needs STALE_CHILD_ROLE)"]
async fn stale_child() {
    if std::env::var(ROLE).is_err() {
        return;
    }
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let (gate, counter) = (PathBuf::from(var(GATE)), var(COUNTER));
    let client = local().client();
    let config = DynamoDbConfig::builder()
        .table_name(var(TABLE))
        .client(client.clone())
        .build()
        .unwrap();
    let stores = Stores::on(&Table::new(client, config), RateLimitConfig::default());
    let refresher = move |_: &Request, _: Option<&Value>| -> RefreshFuture<Value> {
        let counter = counter.clone();
        Box::pin(async move {
            let mut stream = tokio::net::TcpStream::connect(&counter)
                .await
                .map_err(|e| UpstreamError::Failed(e.into()))?;
            stream
                .write_all(b"GET /count HTTP/1.0\r\n\r\n")
                .await
                .map_err(|e| UpstreamError::Failed(e.into()))?;
            let mut reply = String::new();
            stream
                .read_to_string(&mut reply)
                .await
                .map_err(|e| UpstreamError::Failed(e.into()))?;
            Ok(json!({"refreshed_by": std::process::id()}))
        })
    };
    // The dedupe store's own cache, so the refresh writes its value once.
    let p = stores
        .pipeline_builder()
        .refresher(Arc::new(refresher))
        .config(PipelineConfig {
            cache_ttl: Some(MINUTE),
            stale: swr_policy(),
            ..PipelineConfig::default()
        })
        .build();
    pass_gate(&gate).await;
    let answer = p
        .execute(&swr_request(), || async {
            Ok(json!("the caller's own upstream call"))
        })
        .await
        .unwrap();
    println!(
        "RESULT {:?} {:?} {}",
        answer.served_by, answer.stale, answer.value
    );
    std::fs::write(gate.join(format!("answered-{}", std::process::id())), b"").unwrap();
    p.refreshes_idle().await;
    println!("{CACHE_WRITES}{}", stores.cache.metrics().write_units);
}

/// Counts requests on 127.0.0.1; answers each only once every child has answered its
/// caller (so an answer can never have waited for the refresh).
async fn counter_server(gate: PathBuf) -> (String, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let hits = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&hits);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let gate = gate.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                while count(&gate, "answered-") < CHILDREN && started.elapsed() < GATE_TIMEOUT {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let mut buf = [0u8; 256];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
            });
        }
    });
    (address, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_on_one_stale_key_answer_stale_and_one_refresh_runs() {
    let (backend, table) = DynamoBackend::fresh_handle().await;
    let stores = Stores::on(&table, RateLimitConfig::default());
    let r = swr_request();
    // Stored stale already: fresh for nothing, servable for ten minutes.
    let stale = Freshness::fresh_for(Some(Duration::ZERO)).with_stale_for(10 * MINUTE);
    stores
        .cache
        .set_entry(&r.hash(), &json!("v1"), stale)
        .await
        .unwrap();

    let start_gate = StartGate::new("stale");
    let gate = start_gate.path().to_path_buf();
    let (address, hits) = counter_server(gate.clone()).await;
    let children: Vec<Reaped> = (0..CHILDREN)
        .map(|_| {
            Reaped::spawn(
                child_command(CHILD_TEST)
                    .env(ROLE, "swr")
                    .env(TABLE, backend.table.name())
                    .env(GATE, &gate)
                    .env(COUNTER, &address),
            )
        })
        .collect();
    let outputs = run_at_gate(&gate, children).await;
    drop(start_gate);

    for out in &outputs {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed: {stderr}");
        let expected = r#"Stale Some(WhileRevalidate) "v1""#;
        assert_eq!(results(&out.stdout), [expected], "{stderr}");
        // The refresh's value reaches the entry with its job's completion, written by
        // the dedupe store: through the cache store as well would be a second write.
        assert_eq!(marked(&out.stdout, CACHE_WRITES), ["0"], "{stderr}");
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "exactly one upstream refresh for the fleet"
    );
    let entry = stores.cache.get_entry(&r.hash()).await.unwrap().unwrap();
    assert!(
        entry.value.get("refreshed_by").is_some(),
        "{:?}",
        entry.value
    );
    assert!(entry.is_fresh(comic_vine_store::Clock::now(&comic_vine_store::SystemClock)));
}

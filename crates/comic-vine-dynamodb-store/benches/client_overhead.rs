//! What the DynamoDB cache store adds to the SDK call it makes, on this process's side
//! only: each operation beside its raw call against a replay stub on 127.0.0.1 that
//! answers at once (no DynamoDB, no disk), so the server's own time and noise drop out
//! and what is left is our code plus the SDK's.
//!
//! The stub keeps the item of the last PutItem and answers every GetItem with it, so the
//! raw GetItem and the store's `get` read the very item the store wrote (same bytes, same
//! attributes). Each iteration runs every operation once, in a rotating order; a row is
//! the mean wall time per call over all iterations of a round, and the overhead is its
//! difference to the raw call's. The median over the rounds is printed with the range.
//!
//! `cargo bench -p comic-vine-dynamodb-store --bench client_overhead`
//! (`ITERATIONS`, default 5,000, and `ROUNDS`, default 5, change the size; `MT=1` runs
//! the client on a multi-threaded runtime instead of a current-thread one).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use comic_vine_dynamodb_store::{DynamoDbCacheStore, DynamoDbConfig, PK, SK, keys};
use comic_vine_store::CacheStore;
use comic_vine_store::cache::NearCache;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TABLE: &str = "client-overhead";

/// About 1 KB of JSON, like a Comic Vine issue.
fn value() -> Value {
    json!({"error": "OK", "status_code": 1, "results": {
        "id": 1, "name": "Batman #1",
        "deck": "The Dark Knight returns to Gotham City to face a new wave of crime, \
                 while an old enemy returns from the shadows with a plan of his own.",
        "api_detail_url": "https://comicvine.gamespot.com/api/issue/4000-1/",
        "site_detail_url": "https://comicvine.gamespot.com/batman-1/4000-1/",
        "image": {"original_url": "https://comicvine.gamespot.com/a/uploads/original/11/1.jpg",
                  "thumb_url": "https://comicvine.gamespot.com/a/uploads/thumb/11/1.jpg"},
        "volume": {"id": 796, "name": "Batman", "api_detail_url": "https://comicvine.gamespot.com/api/volume/4050-796/"},
        "cover_date": "2011-09-01", "store_date": "2011-08-31", "issue_number": "1",
        "date_added": "2011-07-11 12:00:00", "date_last_updated": "2020-01-01 00:00:00",
        "aliases": null, "has_staff_review": false,
    }})
}

/// Starts the replay stub on its own thread and runtime; returns its URL.
fn start_stub() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    listener.set_nonblocking(true).expect("non-blocking");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
            let item = Arc::new(Mutex::new(json!({})));
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, Arc::clone(&item)));
            }
        });
    });
    url
}

/// One keep-alive connection: PutItem keeps its item, GetItem answers with it.
async fn serve(mut socket: tokio::net::TcpStream, item: Arc<Mutex<Value>>) {
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        let (head, length, target) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut request = httparse::Request::new(&mut headers);
            if let Ok(httparse::Status::Complete(head)) = request.parse(&buf) {
                let header = |name: &str| {
                    request
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).into_owned())
                        .unwrap_or_default()
                };
                let length = header("content-length").parse().unwrap_or(0usize);
                break (head, length, header("x-amz-target"));
            }
            if !read_more(&mut socket, &mut buf).await {
                return;
            }
        };
        while buf.len() < head + length {
            if !read_more(&mut socket, &mut buf).await {
                return;
            }
        }
        let body: Value = serde_json::from_slice(&buf[head..head + length]).unwrap_or_default();
        buf.drain(..head + length);
        let capacity = json!({"TableName": TABLE, "CapacityUnits": 1.0});
        let answer = if target.ends_with(".PutItem") {
            *item.lock().expect("not poisoned") = body["Item"].clone();
            json!({"ConsumedCapacity": capacity})
        } else if target.ends_with(".GetItem") {
            json!({"Item": item.lock().expect("not poisoned").clone(), "ConsumedCapacity": capacity})
        } else {
            json!({})
        };
        let answer = serde_json::to_vec(&answer).expect("JSON");
        let mut out = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n\
             x-amzn-RequestId: stub\r\nContent-Length: {}\r\n\r\n",
            answer.len()
        )
        .into_bytes();
        out.extend_from_slice(&answer);
        if socket.write_all(&out).await.is_err() {
            return;
        }
    }
}

async fn read_more(socket: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    match socket.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

/// The operations, each against the one item; `0` and `3` are the raw calls.
const NAMES: [&str; 5] = [
    "raw GetItem",
    "cache get (hit)",
    "near get (local miss)",
    "raw conditional PutItem",
    "cache set 1 KB",
];

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median_and_range(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run small.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let iterations = if smoke { 20 } else { env("ITERATIONS", 5_000) };
    let rounds = if smoke { 1 } else { env("ROUNDS", 5).max(1) };
    let runtime = if std::env::var_os("MT").is_some() {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build()
    .expect("a runtime");
    runtime.block_on(async {
        let url = start_stub();
        let table = DynamoDbConfig::builder()
            .table_name(TABLE)
            .endpoint(&url)
            .build()
            .expect("a config")
            .connect()
            .await
            .expect("a table handle");
        let store: DynamoDbCacheStore<Value> = DynamoDbCacheStore::new(&table);
        // Keeps nothing (every value is over its byte budget): each read is a local miss.
        let near = NearCache::builder(store.clone())
            .max_bytes(1)
            .build()
            .expect("a near cache");
        let value = value();
        let ttl = Some(Duration::from_secs(600));
        store.set("k", &value, ttl).await.expect("the first set");
        let (pk, sk) = keys::cache_entry("k");
        let client = table.client().clone();
        let stored: Value = store.get("k").await.expect("a read").expect("a hit");
        assert_eq!(stored, value, "the stub hands back what the store wrote");

        let mut times: Vec<Vec<f64>> = vec![Vec::new(); NAMES.len()];
        for _ in 0..rounds {
            let mut sums = [0f64; NAMES.len()];
            for i in 0..iterations {
                for k in 0..NAMES.len() {
                    let op = (i + k) % NAMES.len();
                    let started = Instant::now();
                    match op {
                        0 => {
                            client
                                .get_item()
                                .table_name(TABLE)
                                .key(PK, AttributeValue::S(pk.clone()))
                                .key(SK, AttributeValue::S(sk.clone()))
                                .consistent_read(true)
                                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                                .send()
                                .await
                                .expect("raw GetItem");
                        }
                        1 => assert!(store.get("k").await.expect("get").is_some()),
                        2 => assert!(near.get("k").await.expect("near get").is_some()),
                        3 => raw_put(&client, &value).await,
                        _ => store.set("k", &value, ttl).await.expect("set"),
                    }
                    sums[op] += started.elapsed().as_secs_f64() * 1e6;
                }
            }
            for (op, sum) in sums.iter().enumerate() {
                times[op].push(sum / iterations as f64);
            }
        }
        println!("{iterations} iterations x {rounds} rounds, one caller, replay stub on {url}");
        println!(
            "{:<26} {:>9} {:>17} {:>8}",
            "operation", "µs/call", "over raw (range)", "vs raw"
        );
        for (op, name) in NAMES.iter().enumerate() {
            let raw = if op < 3 { 0 } else { 3 };
            let (mean, _, _) = median_and_range(times[op].clone());
            if op == raw {
                println!("{name:<26} {mean:>9.1} {:>17} {:>8}", "-", "-");
                continue;
            }
            let over: Vec<f64> = (0..rounds).map(|r| times[op][r] - times[raw][r]).collect();
            let ratio: Vec<f64> = (0..rounds).map(|r| times[raw][r] / times[op][r]).collect();
            let (over, lo, hi) = median_and_range(over);
            let (ratio, _, _) = median_and_range(ratio);
            println!(
                "{name:<26} {mean:>9.1} {:>17} {:>7.2}x",
                format!("{over:+.1} ({lo:+.1}..{hi:+.1})"),
                ratio
            );
        }
    });
}

thread_local! {
    static COMPRESSOR: std::cell::RefCell<zstd::bulk::Compressor<'static>> =
        std::cell::RefCell::new(zstd::bulk::Compressor::new(3).expect("a zstd context"));
}

/// The PutItem the store sends for `value`, by hand: the item with the attributes the
/// store writes and its condition, the value encoded each call as the store does
/// (JSON, zstd level 3 with a reused context).
async fn raw_put(client: &aws_sdk_dynamodb::Client, value: &Value) {
    let json = serde_json::to_vec(value).expect("JSON");
    let payload = COMPRESSOR.with(|c| c.borrow_mut().compress(&json).expect("zstd"));
    let (pk, sk) = keys::cache_entry("k");
    let n = |v: u64| AttributeValue::N(v.to_string());
    client
        .put_item()
        .table_name(TABLE)
        .item(PK, AttributeValue::S(pk))
        .item(SK, AttributeValue::S(sk))
        .item("EXP", n(4_102_444_800_000))
        .item("SAT", n(1_764_000_000_000))
        .item("FRE", n(4_102_444_800_000))
        .item("TTL", n(4_102_444_800))
        .item("ENC", AttributeValue::S("zstd".to_owned()))
        .item("RAW", n(json.len() as u64))
        .item("SZ", n(payload.len() as u64))
        .item("V", AttributeValue::B(Blob::new(payload)))
        .condition_expression("attribute_not_exists(#VER)")
        .expression_attribute_names("#VER", "VER")
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .expect("raw PutItem");
}

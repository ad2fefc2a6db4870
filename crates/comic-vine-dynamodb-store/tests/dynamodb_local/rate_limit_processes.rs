//! Eight OS processes hammer one resource (limit 10 per 3 s) for 10 s; a checker over
//! every recorded grant time finds no 3 s window with more than 10.

use std::time::Duration;

use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::{DynamoDbConfig, DynamoDbRateLimitStore};
use comic_vine_store::{Clock, RateLimit, RateLimitConfig, RateLimitStore, SystemClock};

use super::local;
use super::reaped::{Reaped, child_command};

const LIMIT: u32 = 10;
const WINDOW: Duration = Duration::from_secs(3);
const RUN: Duration = Duration::from_secs(10);
const PROCESSES: usize = 8;

/// Epoch milliseconds by the system clock (what the stores record).
fn now_ms() -> u64 {
    SystemClock.now().as_millis()
}

/// The child: acquires until the deadline, printing each grant's recorded time.
#[tokio::test]
#[ignore = "run as a child process by hammer_from_eight_processes"]
async fn rate_limit_child() {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} must be set"));
    let (endpoint, table) = (var("RL_ENDPOINT"), var("RL_TABLE"));
    let start: u64 = var("RL_START_MS").parse().unwrap();
    let config = DynamoDbConfig::builder()
        .endpoint(endpoint)
        .table_name(table)
        .build()
        .unwrap();
    let store = DynamoDbRateLimitStore::builder(&config.connect().await.unwrap())
        .limits(RateLimitConfig::new(RateLimit::new(LIMIT, WINDOW).unwrap()))
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(start.saturating_sub(now_ms()))).await;
    let deadline = start + RUN.as_millis() as u64;
    while now_ms() < deadline {
        let d = store.try_acquire("hammered").await.unwrap();
        match d.granted_at {
            Some(at) => println!("GRANT {}", at.as_millis()),
            None => tokio::time::sleep(d.wait.min(Duration::from_millis(200))).await,
        }
    }
    let m = store.metrics();
    println!("COST {} {}", m.requests, m.operations);
}

#[tokio::test]
async fn hammer_from_eight_processes() {
    let table = local().fresh_table().await.unwrap();
    let start = now_ms() + 1_500;
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Reaped::spawn(
                child_command("rate_limit_processes::rate_limit_child")
                    .env("RL_ENDPOINT", local().endpoint())
                    .env("RL_TABLE", table.name())
                    .env("RL_START_MS", start.to_string()),
            )
        })
        .collect();
    let mut grants = Vec::new();
    let (mut requests, mut decisions) = (0u64, 0u64);
    for child in children {
        let out = child.output();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in stdout.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("GRANT") => grants.push(words.next().unwrap().parse::<u64>().unwrap()),
                Some("COST") => {
                    requests += words.next().unwrap().parse::<u64>().unwrap();
                    decisions += words.next().unwrap().parse::<u64>().unwrap();
                }
                _ => {}
            }
        }
    }
    grants.sort_unstable();
    let window = WINDOW.as_millis() as u64;
    for (i, &t) in grants.iter().enumerate() {
        let n = grants[i..].iter().take_while(|&&g| g < t + window).count();
        assert!(n <= LIMIT as usize, "{n} grants in the 3 s from {t}");
    }
    // The budget is used, not starved: 10 s hold at least three full windows.
    assert!(
        grants.len() >= 3 * LIMIT as usize,
        "only {} grants",
        grants.len()
    );
    assert!(grants.len() <= 4 * LIMIT as usize + LIMIT as usize);
    eprintln!(
        "{} grants from {PROCESSES} processes; {requests} requests for {decisions} decisions ({:.2} per decision)",
        grants.len(),
        requests as f64 / decisions.max(1) as f64
    );
}

//! Eight OS processes on one database file: writers and readers of one cache key
//! never see a torn value; updates of one state cell each land exactly once.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};

use comic_vine_sqlite_store::{SqliteCacheStore, SqliteStateCell, SqliteStore};
use comic_vine_store::CacheStore;
use comic_vine_store::cell::{StateCell, StateKind, decide};
use serde_json::{Value, json};
use tempfile::TempDir;

use super::cell::{count, increment};

const PROCESSES: usize = 8;
const ROUNDS: usize = 60;
const DB_PATH: &str = "SQLITE_PROCESSES_DB";
const CHILD_ID: &str = "SQLITE_PROCESSES_CHILD";

fn child_env() -> (String, u64) {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} must be set"));
    (var(DB_PATH), var(CHILD_ID).parse().unwrap())
}

/// Runs the ignored test `name` in `PROCESSES` child processes on `db`; returns each
/// one's stdout.
fn run_children(name: &str, db: &Path) -> Vec<String> {
    let children: Vec<_> = (0..PROCESSES)
        .map(|i| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    name,
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(DB_PATH, db)
                .env(CHILD_ID, i.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                out.status.success(),
                "child failed: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            stdout
        })
        .collect()
}

/// What follows `marker` on the lines of a child's output that hold it (the test
/// harness may print its own text before a child's first line).
fn marked<'a>(out: &'a str, marker: &'a str) -> impl Iterator<Item = &'a str> {
    out.lines()
        .filter_map(move |l| l.split_once(marker).map(|(_, rest)| rest.trim()))
}

/// A value whose parts must agree: `n` copies of the writer's tag.
fn tagged(writer: u64, round: usize) -> Value {
    let n = 1 + (writer as usize * 7_919 + round * 104_729) % 40_000;
    json!({ "writer": writer, "round": round, "n": n, "body": vec![writer; n] })
}

fn whole(v: &Value) -> bool {
    let (Some(writer), Some(round), Some(n), Some(body)) = (
        v["writer"].as_u64(),
        v["round"].as_u64(),
        v["n"].as_u64(),
        v["body"].as_array(),
    ) else {
        return false;
    };
    *v == tagged(writer, round as usize) && body.len() as u64 == n
}

#[tokio::test]
#[ignore = "run as a child process by cache_key_shared_by_eight_processes_is_never_torn"]
async fn cache_child() {
    let (path, id) = child_env();
    let cache: SqliteCacheStore = SqliteCacheStore::new(&SqliteStore::open(&path).await.unwrap());
    let (mut hits, mut torn) = (0, 0);
    for round in 0..ROUNDS {
        cache.set("shared", &tagged(id, round), None).await.unwrap();
        if let Some(v) = cache.get("shared").await.unwrap() {
            hits += 1;
            if !whole(&v) {
                torn += 1;
            }
        }
    }
    println!("READS {hits} TORN {torn}");
}

#[tokio::test]
async fn cache_key_shared_by_eight_processes_is_never_torn() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    drop(SqliteStore::open(&path).await.unwrap());
    let (mut reads, mut torn) = (0u64, 0u64);
    for out in run_children("processes::cache_child", &path) {
        let words: Vec<&str> = marked(&out, "READS ")
            .next()
            .expect("child summary")
            .split_whitespace()
            .collect();
        reads += words[0].parse::<u64>().unwrap();
        torn += words[2].parse::<u64>().unwrap();
    }
    assert_eq!(torn, 0, "torn values among {reads} reads");
    assert_eq!(
        reads,
        (PROCESSES * ROUNDS) as u64,
        "every read after a write hits"
    );
    let cache: SqliteCacheStore = SqliteCacheStore::new(&SqliteStore::open(&path).await.unwrap());
    assert!(whole(&cache.get("shared").await.unwrap().unwrap()));
}

#[tokio::test]
#[ignore = "run as a child process by a_cell_shared_by_eight_processes_counts_exactly"]
async fn cell_child() {
    let (path, _) = child_env();
    let cell = SqliteStateCell::new(&SqliteStore::open(&path).await.unwrap());
    for _ in 0..ROUNDS {
        let n = decide(&cell, StateKind::Window, "issues", increment)
            .await
            .unwrap();
        println!("COUNT {n}");
    }
}

#[tokio::test]
async fn a_cell_shared_by_eight_processes_counts_exactly() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    drop(SqliteStore::open(&path).await.unwrap());
    let mut seen = HashSet::new();
    for out in run_children("processes::cell_child", &path) {
        for line in marked(&out, "COUNT ") {
            assert!(
                seen.insert(line.parse::<u64>().unwrap()),
                "count {line} twice"
            );
        }
    }
    let total = (PROCESSES * ROUNDS) as u64;
    assert_eq!(seen, (1..=total).collect::<HashSet<_>>());
    let cell = SqliteStateCell::new(&SqliteStore::open(&path).await.unwrap());
    assert_eq!(
        count(cell.load(StateKind::Window, "issues").await.unwrap()),
        total
    );
}

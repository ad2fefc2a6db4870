//! The state cell's contract on SQLite: atomic, exactly once, `Keep` writes nothing,
//! a failing transition changes nothing, expired states are purged only after expiry.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_sqlite_store::{SqliteStateCell, SqliteStore};
use comic_vine_store::cell::{Change, StateCell, StateKind, decide};
use comic_vine_store::clock::ManualClock;
use comic_vine_store::{StoreError, StoreResult, Timestamp};
use tempfile::TempDir;

/// Adds one to the counter stored as 8 little-endian bytes; outputs the new count.
pub fn increment(state: Option<&[u8]>) -> StoreResult<(u64, Change)> {
    let n = match state {
        None => 0,
        Some(b) => u64::from_le_bytes(b.try_into().map_err(|_| StoreError::Corrupt {
            key: "counter".into(),
            reason: format!("{} bytes", b.len()),
        })?),
    } + 1;
    Ok((
        n,
        Change::Put {
            state: n.to_le_bytes().to_vec(),
            expires_at: Timestamp::from_secs(u64::MAX / 2000),
        },
    ))
}

pub fn count(state: Option<Vec<u8>>) -> u64 {
    state.map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_through_many_handles_each_land_once() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let cell = SqliteStateCell::new(&SqliteStore::open(&path).await.unwrap());
        for _ in 0..25 {
            let cell = cell.clone();
            tasks.push(tokio::spawn(async move {
                decide(&cell, StateKind::Window, "issues", increment).await
            }));
        }
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap().unwrap());
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=100).collect::<Vec<u64>>(),
        "each count handed out once"
    );
    let cell = SqliteStateCell::new(&SqliteStore::open(&path).await.unwrap());
    assert_eq!(
        count(cell.load(StateKind::Window, "issues").await.unwrap()),
        100
    );
}

#[tokio::test]
async fn kinds_and_keys_are_separate_and_remove_resets() {
    let dir = TempDir::new().unwrap();
    let cell = SqliteStateCell::new(&SqliteStore::open(dir.path().join("s.db")).await.unwrap());
    for (kind, key) in [
        (StateKind::Window, "a"),
        (StateKind::Job, "a"),
        (StateKind::Window, "b"),
    ] {
        decide(&cell, kind, key, increment).await.unwrap();
    }
    decide(&cell, StateKind::Window, "a", increment)
        .await
        .unwrap();
    assert_eq!(count(cell.load(StateKind::Window, "a").await.unwrap()), 2);
    assert_eq!(count(cell.load(StateKind::Job, "a").await.unwrap()), 1);
    assert_eq!(cell.load(StateKind::Adaptive, "a").await.unwrap(), None);
    cell.remove(StateKind::Window, "a").await.unwrap();
    assert_eq!(cell.load(StateKind::Window, "a").await.unwrap(), None);
    assert_eq!(count(cell.load(StateKind::Window, "b").await.unwrap()), 1);
}

#[tokio::test]
async fn keep_and_failing_transitions_change_nothing() {
    let dir = TempDir::new().unwrap();
    let cell = SqliteStateCell::new(&SqliteStore::open(dir.path().join("s.db")).await.unwrap());
    decide(&cell, StateKind::Job, "h", increment).await.unwrap();
    let seen = decide(&cell, StateKind::Job, "h", |s| {
        Ok((count(s.map(<[u8]>::to_vec)), Change::Keep))
    })
    .await
    .unwrap();
    assert_eq!(seen, 1);
    let e = cell
        .update(
            StateKind::Job,
            "h",
            Box::new(|_| {
                Err(StoreError::invalid_input(
                    "hash",
                    "refused by the transition",
                ))
            }),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::InvalidInput { field: "hash", .. }),
        "{e}"
    );
    assert_eq!(count(cell.load(StateKind::Job, "h").await.unwrap()), 1);
}

#[tokio::test]
async fn expired_states_are_purged_after_their_expiry_only() {
    let dir = TempDir::new().unwrap();
    let clock = ManualClock::new(Timestamp::from_secs(1_000));
    let db = SqliteStore::builder(dir.path().join("s.db"))
        .clock(Arc::new(clock.clone()))
        .open()
        .await
        .unwrap();
    let cell = SqliteStateCell::new(&db);
    let put = |secs| -> comic_vine_store::cell::Transition {
        Box::new(move |_| {
            Ok(Change::Put {
                state: b"s".to_vec(),
                expires_at: Timestamp::from_secs(secs),
            })
        })
    };
    cell.update(StateKind::Job, "short", put(1_010))
        .await
        .unwrap();
    cell.update(StateKind::Job, "long", put(1_100))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(10));
    assert_eq!(
        cell.purge_expired().await.unwrap(),
        0,
        "not before its expiry"
    );
    clock.advance(Duration::from_millis(1));
    assert_eq!(cell.purge_expired().await.unwrap(), 1);
    assert_eq!(cell.load(StateKind::Job, "short").await.unwrap(), None);
    assert!(cell.load(StateKind::Job, "long").await.unwrap().is_some());
}

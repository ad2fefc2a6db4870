//! Dedupe across OS processes: this test binary runs itself as the child processes
//! ([`dedupe_child`], given its role, table and hash by environment variables and
//! pointed at this process's DynamoDB Local), each printing one `RESULT …` line.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::{Duration, SystemTime};

use comic_vine_dynamodb_store::{DynamoDbConfig, DynamoDbDedupeStore, Table};
use comic_vine_store::{DedupeConfig, DedupeStore, JobOutcome, JobState, Registration, StoreError};
use serde_json::{Value, json};

use super::backend::DynamoBackend;
use super::dedupe::take_over;
use super::gate::{StartGate, pass_gate, run_at_gate};
use super::local;
use super::reaped::{Reaped, child_command, results};

const ROLE: &str = "DEDUPE_CHILD_ROLE";
const TABLE: &str = "DEDUPE_CHILD_TABLE";
const HASH: &str = "DEDUPE_CHILD_HASH";
const GATE: &str = "DEDUPE_CHILD_GATE";
const LEASE_MS: &str = "DEDUPE_CHILD_LEASE_MS";
/// The child's test, as `--exact` names it.
const CHILD_TEST: &str = "dedupe_processes::dedupe_child";

/// A short lease, so that a killed owner is replaced within the test.
fn short_lease() -> DedupeConfig {
    DedupeConfig {
        lease: Duration::from_secs(1),
        poll_interval: Duration::from_millis(20),
        max_poll_interval: Duration::from_millis(200),
        ..DedupeConfig::default()
    }
}

fn dedupe_store(table: &str, config: DedupeConfig) -> DynamoDbDedupeStore<Value> {
    let client = local().client();
    let table_config = DynamoDbConfig::builder()
        .table_name(table)
        .client(client.clone())
        .build()
        .unwrap();
    DynamoDbDedupeStore::new(&Table::new(client, table_config))
        .with_config(config)
        .unwrap()
}

/// The child process: does nothing unless started by a test below.
#[tokio::test]
#[ignore = "child process of the dedupe_processes tests (needs DEDUPE_CHILD_ROLE)"]
async fn dedupe_child() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let config = match std::env::var(LEASE_MS) {
        Ok(ms) => DedupeConfig {
            lease: Duration::from_millis(ms.parse().unwrap()),
            ..short_lease()
        },
        Err(_) => DedupeConfig::default(),
    };
    let store = dedupe_store(&var(TABLE), config);
    let hash = var(HASH);
    match role.as_str() {
        "race" => race(&store, &hash, Path::new(&var(GATE))).await,
        "die" => own_and_hang(&store, &hash).await,
        other => panic!("unknown role {other}"),
    }
}

/// Registers at the gate's opening; the owner completes, the others wait for its value.
async fn race(store: &DynamoDbDedupeStore<Value>, hash: &str, gate: &Path) {
    pass_gate(gate).await;
    match store.register_or_join(hash).await.unwrap() {
        Registration::Owner { job_id, took_over } => {
            assert!(!took_over);
            tokio::time::sleep(Duration::from_millis(300)).await;
            let value = json!({"owner": job_id.as_str(), "pid": std::process::id()});
            store.complete(hash, &job_id, &value).await.unwrap();
            println!("RESULT owner job={job_id}");
        }
        Registration::Joined { job_id } => match store.wait_for(hash).await.unwrap() {
            JobOutcome::Completed(value) => println!("RESULT joined job={job_id} value={value}"),
            other => println!("RESULT joined job={job_id} outcome={other:?}"),
        },
    }
}

/// Registers as the owner, says so, and never finishes (the parent kills it).
async fn own_and_hang(store: &DynamoDbDedupeStore<Value>, hash: &str) {
    let Registration::Owner { job_id, .. } = store.register_or_join(hash).await.unwrap() else {
        panic!("the child should own {hash}");
    };
    println!("RESULT owner job={job_id}");
    tokio::time::sleep(Duration::from_secs(60)).await;
}

/// Starts this test binary as a child in `role` on `backend`'s table.
fn spawn_child(role: &str, backend: &DynamoBackend, hash: &str, env: &[(&str, String)]) -> Reaped {
    let mut command = child_command(CHILD_TEST);
    command
        .env(ROLE, role)
        .env(TABLE, backend.table.name())
        .env(HASH, hash);
    for (name, value) in env {
        command.env(name, value);
    }
    Reaped::spawn(&mut command)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_processes_one_owner_all_get_its_value() {
    const CHILDREN: usize = 16;
    let backend = DynamoBackend::fresh().await;
    let gate = StartGate::new("dedupe");
    let children: Vec<Reaped> = (0..CHILDREN)
        .map(|_| {
            let dir = gate.path().to_string_lossy().into_owned();
            spawn_child("race", &backend, "sixteen", &[(GATE, dir)])
        })
        .collect();
    let outputs = run_at_gate(gate.path(), children).await;

    let mut owners = Vec::new();
    let mut joined = Vec::new();
    for out in &outputs {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed: {stderr}");
        let lines = results(&out.stdout);
        assert_eq!(lines.len(), 1, "{lines:?} {stderr}");
        match lines[0].split_once(' ') {
            Some(("owner", rest)) => owners.push(rest.trim_start_matches("job=").to_owned()),
            Some(("joined", rest)) => joined.push(rest.to_owned()),
            _ => panic!("unexpected child result {:?}", lines[0]),
        }
    }
    assert_eq!(owners.len(), 1, "exactly one owner: {owners:?}");
    assert_eq!(joined.len(), CHILDREN - 1);
    let owner = &owners[0];
    for line in &joined {
        let (job, value) = line
            .split_once(" value=")
            .unwrap_or_else(|| panic!("{line}"));
        assert_eq!(job, format!("job={owner}"));
        let value: Value = serde_json::from_str(value).unwrap();
        assert_eq!(value["owner"], json!(owner));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_owner_is_taken_over_after_its_lease() {
    let backend = DynamoBackend::fresh().await;
    let lease = short_lease().lease;
    let lease_ms = lease.as_millis().to_string();
    let mut child = spawn_child("die", &backend, "killed", &[(LEASE_MS, lease_ms)]);
    let stdout = child.0.as_mut().unwrap().stdout.take().unwrap();
    let dead_job = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| Some(line.split_once("RESULT owner job=")?.1.trim().to_owned()))
    })
    .await
    .unwrap()
    .expect("the child should report its job");

    let store = dedupe_store(backend.table.name(), short_lease());
    let info = store.job("killed").await.unwrap().expect("the child's job");
    assert_eq!(
        (info.state, info.job_id.as_str()),
        (JobState::Pending, &*dead_job)
    );
    drop(child); // killed before it completes

    // The dead owner holds the job until its lease runs out; then it is abandoned.
    let lease_end = info.lease_until.to_system_time();
    let remaining = lease_end
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    tokio::time::sleep(remaining + Duration::from_millis(50)).await;
    assert!(!store.is_in_progress("killed").await.unwrap());
    assert_eq!(
        store.wait_for("killed").await.unwrap(),
        JobOutcome::Abandoned
    );

    let job_id = take_over(&store, "killed").await;
    let waiter = dedupe_store(backend.table.name(), short_lease());
    let wait = tokio::spawn(async move { waiter.wait_for("killed").await.unwrap() });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let value = json!({"taken_over_from": dead_job});
    store.complete("killed", &job_id, &value).await.unwrap();
    assert_eq!(wait.await.unwrap(), JobOutcome::Completed(value));

    let dead = comic_vine_store::JobId::from_string(dead_job);
    let late = store
        .complete("killed", &dead, &json!(0))
        .await
        .unwrap_err();
    assert!(matches!(late, StoreError::NotJobOwner { .. }), "{late}");
}

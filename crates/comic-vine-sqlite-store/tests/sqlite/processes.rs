//! Eight OS processes on one database file: writers and readers of one cache key
//! never see a torn value; updates of one state cell each land exactly once.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};

use comic_vine_sqlite_store::{SqliteCacheStore, SqliteStateCell, SqliteStore};
use comic_vine_store::CacheStore;
use comic_vine_store::cell::{StateCell, StateKind, decide};
use serde_json::{Value, json};

use super::cell::{count, increment};

const PROCESSES: usize = 8;
const ROUNDS: usize = 60;
const DB_PATH: &str = "SQLITE_PROCESSES_DB";
const CHILD_ID: &str = "SQLITE_PROCESSES_CHILD";

fn child_env() -> (String, u64) {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} must be set"));
    (var(DB_PATH), var(CHILD_ID).parse().unwrap())
}

/// The command that runs the ignored test `name` of this binary as child `id` on `db`,
/// its standard output piped.
fn child_command(name: &str, db: &Path, id: usize) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DB_PATH, db)
        .env(CHILD_ID, id.to_string())
        .stdout(Stdio::piped());
    command
}

/// Runs the ignored test `name` in `PROCESSES` child processes on `db`; returns each
/// one's stdout.
fn run_children(name: &str, db: &Path) -> Vec<String> {
    let children: Vec<_> = (0..PROCESSES)
        .map(|i| {
            child_command(name, db, i)
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
    let (_dir, path) = crate::created_store_file().await;
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
    let (_dir, path) = crate::created_store_file().await;
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

mod fleet {
    use std::sync::Arc;
    use std::time::Duration;

    use comic_vine_sqlite_store::{SqliteStateCell, SqliteStore};
    use comic_vine_store::cell::{CellDedupeStore, CellRateLimitStore};
    use comic_vine_store::clock::{Clock, SystemClock};
    use comic_vine_store::{DedupeStore, RateLimit, RateLimitConfig, RateLimitStore, Registration};

    use super::{child_env, marked, run_children};

    const LIMIT: u32 = 10;
    const WINDOW: Duration = Duration::from_secs(1);
    const RUN_MS: u64 = 4_000;

    /// Epoch milliseconds by the system clock (what the stores record).
    fn now_ms() -> u64 {
        SystemClock.now().as_millis()
    }

    #[tokio::test]
    #[ignore = "child"]
    async fn rate_limit_child() {
        let (path, _) = child_env();
        let start: u64 = std::env::var("SQLITE_START_MS").unwrap().parse().unwrap();
        let cell = Arc::new(SqliteStateCell::new(
            &SqliteStore::open(&path).await.unwrap(),
        ));
        let limits = RateLimitConfig::new(RateLimit::new(LIMIT, WINDOW).unwrap());
        let store = CellRateLimitStore::new(cell, limits, Arc::new(SystemClock));
        tokio::time::sleep(Duration::from_millis(start.saturating_sub(now_ms()))).await;
        while now_ms() < start + RUN_MS {
            let d = store.try_acquire("issues").await.unwrap();
            match d.granted_at {
                Some(at) => println!("GRANT {}", at.as_millis()),
                None => tokio::time::sleep(d.wait.min(Duration::from_millis(50))).await,
            }
        }
    }

    #[tokio::test]
    async fn eight_processes_never_exceed_the_window() {
        let (_dir, path) = crate::created_store_file().await;
        unsafe { std::env::set_var("SQLITE_START_MS", (now_ms() + 1_000).to_string()) };
        let mut grants: Vec<u64> = run_children("processes::fleet::rate_limit_child", &path)
            .iter()
            .flat_map(|out| {
                marked(out, "GRANT ")
                    .map(|g| g.parse().unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        grants.sort_unstable();
        let window = WINDOW.as_millis() as u64;
        for (i, &t) in grants.iter().enumerate() {
            let n = grants[i..].iter().take_while(|&&g| g < t + window).count();
            assert!(n <= LIMIT as usize, "{n} grants in the window from {t}");
        }
        assert!(
            grants.len() >= 3 * LIMIT as usize,
            "only {} grants",
            grants.len()
        );
        eprintln!("{} grants from 8 processes", grants.len());
    }

    #[tokio::test]
    #[ignore = "child"]
    async fn dedupe_child() {
        let (path, _) = child_env();
        let cell = Arc::new(SqliteStateCell::new(
            &SqliteStore::open(&path).await.unwrap(),
        ));
        let store: CellDedupeStore<_, serde_json::Value> =
            CellDedupeStore::new(cell, Arc::new(SystemClock));
        match store.register_or_join("one-hash").await.unwrap() {
            Registration::Owner { .. } => println!("ROLE owner"),
            Registration::Joined { .. } => println!("ROLE joined"),
        }
    }

    #[tokio::test]
    async fn eight_processes_one_dedupe_owner() {
        let (_dir, path) = crate::created_store_file().await;
        let roles: Vec<String> = run_children("processes::fleet::dedupe_child", &path)
            .iter()
            .flat_map(|out| marked(out, "ROLE ").map(str::to_owned).collect::<Vec<_>>())
            .collect();
        assert_eq!(roles.len(), 8);
        assert_eq!(
            roles.iter().filter(|r| *r == "owner").count(),
            1,
            "{roles:?}"
        );
    }
}

/// A dedupe owner killed with SIGKILL mid-job: another process takes the job over
/// once (and only once) the dead owner's lease has run out, and the dead owner's job
/// id can no longer complete it.
mod dead_owner {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::Arc;
    use std::time::Duration;

    use comic_vine_sqlite_store::{SqliteStateCell, SqliteStore};
    use comic_vine_store::cell::CellDedupeStore;
    use comic_vine_store::clock::SystemClock;
    use comic_vine_store::{DedupeConfig, DedupeStore, JobId, JobState, Registration};
    use serde_json::{Value, json};

    use super::{child_env, marked};

    const HASH: &str = "dead-owner-hash";

    async fn store(path: &str) -> CellDedupeStore<SqliteStateCell, Value> {
        let cell = Arc::new(SqliteStateCell::new(
            &SqliteStore::open(path).await.unwrap(),
        ));
        CellDedupeStore::new(cell, Arc::new(SystemClock))
            .with_config(DedupeConfig {
                lease: Duration::from_millis(800),
                ..DedupeConfig::default()
            })
            .unwrap()
    }

    #[tokio::test]
    #[ignore = "child"]
    async fn owner_child() {
        let (path, _) = child_env();
        let store = store(&path).await;
        let Registration::Owner { job_id, .. } = store.register_or_join(HASH).await.unwrap() else {
            panic!("the first caller owns the job");
        };
        let job = store.job(HASH).await.unwrap().unwrap();
        println!("OWNER {job_id} {}", job.lease_until.as_millis());
        // Never completes nor extends the lease: the parent kills this process.
        tokio::time::sleep(Duration::from_secs(120)).await;
    }

    #[tokio::test]
    #[ignore = "child"]
    async fn taker_child() {
        let (path, _) = child_env();
        let store = store(&path).await;
        let mut joined = 0u32;
        loop {
            match store.register_or_join(HASH).await.unwrap() {
                Registration::Owner { job_id, took_over } => {
                    let job = store.job(HASH).await.unwrap().unwrap();
                    println!(
                        "TOOK {job_id} {took_over} {} {joined}",
                        job.created_at.as_millis()
                    );
                    store.complete(HASH, &job_id, &json!("done")).await.unwrap();
                    return;
                }
                Registration::Joined { .. } => {
                    joined += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn child(name: &str, db: &std::path::Path) -> Command {
        let mut command = super::child_command(name, db, 0);
        command.stderr(Stdio::null());
        command
    }

    #[tokio::test]
    async fn a_killed_owner_is_taken_over_after_its_lease() {
        let (_dir, path) = crate::created_store_file().await;
        let mut owner = child("processes::dead_owner::owner_child", &path)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(owner.stdout.take().unwrap()).lines();
        let line = lines
            .find_map(|l| l.ok().filter(|l| l.contains("OWNER ")))
            .expect("the owner child reports its job");
        let owner_line: Vec<String> = marked(&line, "OWNER ")
            .next()
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let (dead_job, dead_lease): (&str, u64) = (&owner_line[0], owner_line[1].parse().unwrap());
        owner.kill().unwrap(); // SIGKILL: no cleanup runs.
        assert!(!owner.wait().unwrap().success());

        let out = child("processes::dead_owner::taker_child", &path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        let took: Vec<&str> = marked(&stdout, "TOOK ")
            .next()
            .unwrap_or_else(|| panic!("{stdout}"))
            .split_whitespace()
            .collect();
        assert_ne!(took[0], dead_job, "a new job");
        assert_eq!(took[1], "true", "taken over, not a fresh registration");
        let created: u64 = took[2].parse().unwrap();
        assert!(
            created >= dead_lease,
            "taken over at {created}, before the lease ran out at {dead_lease}"
        );

        let store = store(path.to_str().unwrap()).await;
        let job = store.job(HASH).await.unwrap().unwrap();
        assert_eq!(job.job_id.to_string(), took[0]);
        assert_eq!(job.state, JobState::Completed);
        let zombie: JobId = serde_json::from_value(json!(dead_job)).unwrap();
        assert!(
            store.complete(HASH, &zombie, &json!("late")).await.is_err(),
            "the dead owner's job id cannot complete the job"
        );
    }
}

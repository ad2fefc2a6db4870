//! The CLI on a SQLite file (`--store sqlite:PATH`), run as a user runs the binary:
//! the store commands work on it through the same code as on DynamoDB, OS processes
//! sharing one file keep one exact rate limit, a file that is not a database is named
//! and left as it was, DynamoDB-only commands are refused, and the demo runs its worker
//! processes on a scratch file of its own.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

mod support;

use support::*;

#[test]
fn cache_commands_round_trip_on_a_new_file() {
    let db = Db::new();
    assert!(!db.path.exists());
    let set = ok(&db.run(&["cache", "set", "k", r#"{"n": 1.50}"#, "--ttl", "1h"]));
    assert!(set.starts_with("stored `k`"), "{set}");
    assert!(db.path.is_file(), "store commands create the file");
    assert_eq!(ok(&db.run(&["cache", "get", "k"])), "{\"n\": 1.50}\n");
    let report = json_out(&db.run(&["--json", "cache", "get", "k"]));
    assert_eq!(report["database"], db.path.display().to_string());
    assert_eq!(report["found"], true);
    assert!(report.get("table").is_none(), "{report}");
    let stats = json_out(&db.run(&["--json", "cache", "stats"]));
    assert_eq!(stats["entries"], 1);
    ok(&db.run(&["cache", "set", "gone", "1", "--ttl", "1s"]));
    std::thread::sleep(Duration::from_millis(1_100));
    assert_eq!(
        db.run(&["cache", "get", "gone"]).status.code(),
        Some(NOT_FOUND)
    );
    let cleanup = json_out(&db.run(&["--json", "cache", "cleanup"]));
    assert_eq!(cleanup["removed"], 1);
    ok(&db.run(&["cache", "delete", "k"]));
    let miss = db.run(&["cache", "get", "k"]);
    assert_eq!(miss.status.code(), Some(NOT_FOUND));
    assert_eq!(stdout(&miss), "");
    ok(&db.run(&["cache", "set", "a", "[1]"]));
    assert_eq!(
        ok(&db.run(&["cache", "clear"])),
        format!("removed 1 entry from database {}\n", db.path.display())
    );
    let health = json_out(&db.run(&["--json", "health"]));
    assert_eq!(health["healthy"], true, "{health}");
    let status = db.run(&["dedupe", "status", "no-such-hash"]);
    assert_eq!(status.status.code(), Some(NOT_FOUND));
}

#[test]
fn ratelimit_commands_work_on_sqlite() {
    let db = Db::new();
    let acquire = two_issues_an_hour(false, "acquire");
    ok(&db.run(&acquire));
    ok(&db.run(&acquire));
    let denied = db.run(&acquire);
    assert_eq!(denied.status.code(), Some(DENIED), "{}", stderr(&denied));
    let status = json_out(&db.run(&two_issues_an_hour(true, "status")));
    assert_eq!(
        (status["remaining"].as_u64(), status["limit"].as_u64()),
        (Some(0), Some(2))
    );
    let wait: u64 = ok(&db.run(&two_issues_an_hour(false, "wait-time")))
        .trim()
        .parse()
        .unwrap();
    assert!(wait > 0);
    ok(&db.run(&["ratelimit", "reset", "issues"]));
    ok(&db.run(&acquire));
    let user = [
        "--json",
        "ratelimit",
        "acquire",
        "issues",
        "--limit",
        "3",
        "--window",
        "1h",
        "--priority",
        "user",
    ];
    assert_eq!(json_out(&db.run(&user))["granted"], true);
}

/// Granted times (ms) of `cvstore ratelimit acquire` run over and over for `run_for`
/// from `processes` threads at once on `db`.
fn grants(db: &Db, processes: usize, run_for: Duration, limit: &str, window: &str) -> Vec<u64> {
    let start = Instant::now();
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..processes)
            .map(|_| {
                scope.spawn(move || {
                    let mut granted = Vec::new();
                    while start.elapsed() < run_for {
                        let out = db.run(&[
                            "--json",
                            "ratelimit",
                            "acquire",
                            "issues",
                            "--limit",
                            limit,
                            "--window",
                            window,
                        ]);
                        let report = json_out(&out);
                        match out.status.code() {
                            Some(0) => granted.push(report["granted_at"].as_u64().unwrap()),
                            Some(DENIED) => std::thread::sleep(Duration::from_millis(20)),
                            other => panic!("status {other:?}: {}", stderr(&out)),
                        }
                    }
                    granted
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    })
}

#[test]
fn acquires_from_eight_processes_on_one_file_are_exact() {
    const LIMIT: usize = 10;
    const WINDOW_MS: u64 = 2_000;
    let db = Db::new();
    ok(&db.run(&["cache", "stats"])); // Creates the file before the race.
    let mut granted = grants(&db, 8, Duration::from_secs(3), "10", "2s");
    granted.sort_unstable();
    for (i, &t) in granted.iter().enumerate() {
        let n = granted[i..]
            .iter()
            .take_while(|&&g| g < t + WINDOW_MS)
            .count();
        assert!(n <= LIMIT, "{n} grants in the 2 s from {t}: {granted:?}");
    }
    // The first window fills: 8 processes ask far more often than 10 per 2 s.
    assert!(granted.len() >= LIMIT, "only {} grants", granted.len());
    eprintln!("{} grants from 8 processes", granted.len());
}

#[test]
fn a_file_that_is_not_a_database_is_named_and_left_alone() {
    let dir = tempfile::TempDir::new().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database\n").unwrap();
    let dirs_before = std::fs::read_dir(dir.path()).unwrap().count();
    for args in [
        vec!["cache", "get", "k"],
        vec!["cache", "set", "k", "1"],
        vec!["ratelimit", "acquire", "issues"],
        vec!["health"],
    ] {
        let flag = format!("sqlite:{}", text.display());
        let out = run_with_input(&["--store", &flag], &args, b"");
        let err = failed(&out, 1);
        assert!(err.contains(&format!("`{}`", text.display())), "{err}");
        assert_eq!(std::fs::read_to_string(&text).unwrap(), "not a database\n");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            dirs_before,
            "nothing created beside it"
        );
    }
    let json = run_with_input(
        &["--store", &format!("sqlite:{}", text.display())],
        &["--json", "cache", "get", "k"],
        b"",
    );
    failed(&json, 1);
    assert_eq!(json_out(&json)["error"]["kind"], "storage_file");
    // A directory, and a file in a missing directory: named, nothing created.
    let err = failed(
        &run_with_input(
            &["--store", &format!("sqlite:{}", dir.path().display())],
            &["cache", "get", "k"],
            b"",
        ),
        1,
    );
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
    let missing = dir.path().join("no-such-dir").join("x.db");
    let err = failed(
        &run_with_input(
            &["--store", &format!("sqlite:{}", missing.display())],
            &["cache", "get", "k"],
            b"",
        ),
        1,
    );
    assert!(err.contains(&missing.display().to_string()), "{err}");
    assert!(!missing.parent().unwrap().exists());
}

#[test]
fn dynamodb_only_commands_and_memory_are_refused_with_status_2() {
    let db = Db::new();
    for args in [
        vec!["table", "create"],
        vec!["table", "verify"],
        vec!["table", "schema"],
        vec!["bench", "--duration", "10ms"],
    ] {
        let err = failed(&db.run(&args), USAGE);
        assert!(err.contains("DynamoDB only"), "{err}");
    }
    assert!(!db.path.exists(), "a refused command creates no file");
    let err = failed(
        &run_with_input(&["--store", "memory"], &["cache", "get", "k"], b""),
        USAGE,
    );
    assert!(err.contains("--store memory"), "{err}");
    let both = run_with_input(
        &["--store", &db.flag, "--endpoint", "http://127.0.0.1:9"],
        &["health"],
        b"",
    );
    assert!(failed(&both, USAGE).contains("two backends"));
    let bad = run_with_input(&["--store", "sqlite:"], &["health"], b"");
    assert!(failed(&bad, USAGE).starts_with("error: invalid --store: "));
    let help = ok(&run_with_input(&[], &["--help"], b""));
    assert!(
        help.contains("sqlite:PATH") && help.contains("create the file"),
        "{help}"
    );
}

const DEMO: [&str; 9] = [
    "demo",
    "--workers",
    "3",
    "--requests",
    "20",
    "--limit",
    "10",
    "--window",
    "1s",
];

/// The demo's JSON report, asserting it ran clean.
fn demo(flags: &[&str], extra: &[&str]) -> Value {
    let args: Vec<&str> = ["--json"]
        .iter()
        .chain(&DEMO)
        .chain(extra)
        .copied()
        .collect();
    let report = json_out(&run_with_input(flags, &args, b""));
    assert_eq!(report["violations"], 0, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["requests"], 60, "{report}");
    report
}

/// The file named in the report's backend, e.g. "SQLite file `/tmp/x.db` (deleted), …".
fn demo_file(report: &Value) -> String {
    let backend = report["backend"].as_str().unwrap();
    backend
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("{backend}"))
        .to_owned()
}

#[test]
fn the_demo_on_sqlite_runs_processes_on_a_scratch_file() {
    let db = Db::new();
    let report = demo(&["--store", &db.flag], &[]);
    let backend = report["backend"].as_str().unwrap();
    assert!(backend.contains("(deleted), 3 OS processes"), "{backend}");
    assert!(
        !Path::new(&demo_file(&report)).exists(),
        "the scratch file is deleted"
    );
    assert!(!db.path.exists(), "never writes into the --store file");
    let kept = demo(&["--store", &db.flag], &["--keep"]);
    let file = demo_file(&kept);
    assert!(Path::new(&file).is_file());
    let entries = json_out(&run_with_input(
        &["--store", &format!("sqlite:{file}")],
        &["--json", "cache", "stats"],
        b"",
    ));
    assert!(entries["entries"].as_u64().unwrap() > 0, "{entries}");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{file}{suffix}"));
    }
}

#[test]
fn the_demo_writes_into_an_existing_file_only_when_told() {
    let db = Db::new();
    ok(&db.run(&["cache", "set", "mine", "true"]));
    let report = demo(
        &["--store", &db.flag],
        &["--into-file", db.path.to_str().unwrap()],
    );
    assert_eq!(demo_file(&report), db.path.display().to_string());
    assert_eq!(
        ok(&db.run(&["cache", "get", "mine"])),
        "true\n",
        "its entries stay"
    );
    let missing = db.path.with_file_name("missing.db");
    let out = db.run(&["demo", "--into-file", missing.to_str().unwrap()]);
    assert!(failed(&out, 1).contains("--into-file writes only into an existing database"));
    assert!(!missing.exists());
    let out = run_with_input(
        &["--store", "memory"],
        &["demo", "--into-file", "x.db"],
        b"",
    );
    failed(&out, USAGE);
}

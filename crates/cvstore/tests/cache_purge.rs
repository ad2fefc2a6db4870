//! `cvstore cache purge --resource NAME` run as a user runs the binary, on a SQLite file
//! and on a DynamoDB Local table: it removes exactly that resource's entries and says
//! how many; a missing or empty name is a usage error (status 2).

use serde_json::Value;

mod support;

use support::*;

const ENTRIES: [(&str, &str); 4] = [
    ("volumes/0a", "1"),
    ("volumes/0b", r#"{"v":2}"#),
    ("issues/0c", "3"),
    ("plain", "4"),
];

/// Fills a store through `run`, purges `volumes` and checks what is left.
fn purge_through(run: &dyn Fn(&[&str]) -> std::process::Output, label: &str) {
    for (key, value) in ENTRIES {
        ok(&run(&["cache", "set", key, value]));
    }
    let stats = json_out(&run(&["--json", "cache", "stats"]));
    assert_eq!(
        (&stats["entries"], &stats["unresourced_entries"]),
        (&Value::from(4), &Value::from(1)),
        "{stats}"
    );
    assert_eq!(
        ok(&run(&["cache", "purge", "--resource", "volumes"])),
        format!("removed 2 entries of resource `volumes` from {label}\n")
    );
    for key in ["volumes/0a", "volumes/0b"] {
        assert_eq!(run(&["cache", "get", key]).status.code(), Some(NOT_FOUND));
    }
    assert_eq!(ok(&run(&["cache", "get", "issues/0c"])), "3\n");
    assert_eq!(ok(&run(&["cache", "get", "plain"])), "4\n");
    let again = json_out(&run(&["--json", "cache", "purge", "--resource", "volumes"]));
    assert_eq!(again["resource"], "volumes");
    assert_eq!(again["removed"], 0, "{again}");
    let issues = json_out(&run(&["--json", "cache", "purge", "--resource", "issues"]));
    assert_eq!(issues["removed"], 1, "{issues}");
    assert_eq!(json_out(&run(&["--json", "cache", "stats"]))["entries"], 1);

    for bad in [
        &["cache", "purge"][..],
        &["cache", "purge", "--resource", ""],
    ] {
        let err = failed(&run(bad), USAGE);
        assert!(err.contains("--resource"), "{err}");
    }
}

#[test]
fn purge_on_a_sqlite_file() {
    let db = Db::new();
    let label = format!("database {}", db.path.display());
    purge_through(&|args| db.run(args), &label);
}

#[test]
fn purge_on_a_dynamodb_table() {
    let table = created_table("cli-purge");
    let label = format!("table {table}");
    purge_through(&|args| cvstore(&table, args), &label);
}

#[test]
fn purge_on_the_memory_store_is_refused_as_on_every_cache_command() {
    let out = run_with_input(
        &["--store", "memory"],
        &["cache", "purge", "--resource", "volumes"],
        b"",
    );
    let err = failed(&out, USAGE);
    assert!(err.contains("--store memory"), "{err}");
}

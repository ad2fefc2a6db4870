//! Running the `cvstore` binary against the shared DynamoDB Local, for the CLI tests.

#![allow(dead_code)] // Each test binary uses its own subset.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use comic_vine_dynamodb_store::local::DynamoDbLocal;
pub use comic_vine_dynamodb_store::local::unique_table_name;
use serde_json::Value;

pub mod stub;

/// The exit status of `cache get` for a key without a live entry.
pub const NOT_FOUND: i32 = 3;

/// The exit status of an invalid command line.
pub const USAGE: i32 = 2;

/// The exit status of a denied `ratelimit acquire`.
pub const DENIED: i32 = 4;

/// The DynamoDB Local endpoint shared by this test binary.
pub fn endpoint() -> &'static str {
    DynamoDbLocal::shared()
        .expect("DynamoDB Local should start (see scripts/dynamodb-local.sh)")
        .endpoint()
}

/// The binary with a clean environment for its own variables.
pub fn bare_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cvstore"));
    for var in [
        "CVSTORE_ENDPOINT",
        "CVSTORE_STORE",
        "CVSTORE_TABLE",
        "CVSTORE_TIMEOUT",
        "CVSTORE_LOG",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
    ] {
        command.env_remove(var);
    }
    command
}

/// `cvstore --endpoint <DynamoDB Local> --table <table> <args…>`, fed `stdin`.
pub fn cvstore_with_input(table: &str, args: &[&str], stdin: &[u8]) -> Output {
    run_with_input(&["--endpoint", endpoint(), "--table", table], args, stdin)
}

/// `cvstore <flags…> <args…>`, fed `stdin`.
pub fn run_with_input(flags: &[&str], args: &[&str], stdin: &[u8]) -> Output {
    let mut child = bare_command()
        .args(flags)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cvstore");
    let mut input = child.stdin.take().expect("stdin");
    // The binary may exit without reading (e.g. on a usage error): ignore a broken pipe.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("wait for cvstore")
}

/// `cvstore --endpoint <DynamoDB Local> --table <table> <args…>`.
pub fn cvstore(table: &str, args: &[&str]) -> Output {
    cvstore_with_input(table, args, b"")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(o)))
}

/// Asserts a successful run and returns its standard output.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}, stderr: {}",
        o.status,
        stderr(o)
    );
    stdout(o)
}

/// Asserts a failed run with status `code` and exactly one `error: …` line on stderr;
/// returns that line.
pub fn failed(o: &Output, code: i32) -> String {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}, stderr: {}",
        stdout(o),
        stderr(o)
    );
    let err = stderr(o);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err.trim_end().to_owned()
}

/// A new table made by `cvstore table create`.
pub fn created_table(prefix: &str) -> String {
    let table = unique_table_name(prefix);
    let out = cvstore(&table, &["table", "create"]);
    assert_eq!(ok(&out).trim(), format!("created table `{table}`"));
    table
}

/// A SQLite database file in a temporary directory of its own (removed on drop).
pub struct Db {
    _dir: tempfile::TempDir,
    /// The file (not created until a command opens it).
    pub path: std::path::PathBuf,
    /// `--store sqlite:<path>`.
    pub flag: String,
}

impl Db {
    /// A new path `store.db` in a new temporary directory.
    pub fn new() -> Self {
        let dir = tempfile::TempDir::new().expect("temporary directory");
        let path = dir.path().join("store.db");
        let flag = format!("sqlite:{}", path.display());
        Self {
            _dir: dir,
            path,
            flag,
        }
    }

    /// `cvstore --store sqlite:<path> <args…>`, fed `stdin`.
    pub fn run_with_input(&self, args: &[&str], stdin: &[u8]) -> Output {
        run_with_input(&["--store", &self.flag], args, stdin)
    }

    /// `cvstore --store sqlite:<path> <args…>`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_input(args, b"")
    }
}

/// Asserts that the one-line error `err` names the missing `table` and points to
/// `cvstore table create` (`context` leads each failure message).
pub fn assert_names_the_missing_table(table: &str, err: &str, context: &str) {
    assert!(
        err.contains(&format!("table `{table}` not found")),
        "{context}{err}"
    );
    assert!(err.contains("cvstore table create"), "{context}{err}");
}

/// The standard output of `table verify` on a missing table.
pub fn missing_table_text(table: &str) -> String {
    format!("table `{table}` does not exist")
}

/// The JSON report of `--json COMMAND FLAGS…` (`bench`, `demo`) run on a fresh table name
/// starting with `prefix`, which, as its standard error must say, it made for itself.
pub fn report_on_a_table_of_its_own(prefix: &str, command: &str, flags: &[&str]) -> Value {
    let table = unique_table_name(prefix);
    let args: Vec<&str> = ["--json", command]
        .into_iter()
        .chain(flags.iter().copied())
        .collect();
    let o = cvstore(&table, &args);
    let report = json_out(&o);
    assert!(
        stderr(&o).contains(&format!("for the {command}")),
        "a table of its own: {}",
        stderr(&o)
    );
    report
}

/// `[--json] ratelimit COMMAND issues --limit 2 --window 1h`: the arguments of the
/// ratelimit tests, on a limit of two `issues` calls an hour.
pub fn two_issues_an_hour(json: bool, command: &'static str) -> Vec<&'static str> {
    let json = json.then_some("--json");
    json.into_iter()
        .chain([
            "ratelimit",
            command,
            "issues",
            "--limit",
            "2",
            "--window",
            "1h",
        ])
        .collect()
}

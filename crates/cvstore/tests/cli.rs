//! The `cvstore` binary, run as a user runs it.

mod support;

use std::process::Output;

use support::{USAGE, bare_command, failed, ok, stderr, stdout};

/// `cvstore <args…>`, with a clean environment for its own variables.
fn cvstore(args: &[&str]) -> Output {
    bare_command().args(args).output().expect("run cvstore")
}

#[test]
fn hash_prints_the_typescript_compatible_key() {
    let out = cvstore(&["hash", "issues/retrieve", r#"{"id":1}"#]);
    assert_eq!(
        ok(&out).trim(),
        "096cecaa26fbf9b0bd455131d5166403fb2df40fb54b9098a0ff111d375b3d52"
    );
    let json = cvstore(&["--json", "hash", "issues/list", "{}"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["canonical"], r#"{"endpoint":"issues/list","params":{}}"#);
    assert_eq!(
        v["hash"],
        "d3237edcf886f7ecc879f7546c97e3bc3c325df4c3f4cf83e644fb10f32b6886"
    );
}

#[test]
fn bad_input_is_one_line_on_stderr_and_a_failure_exit() {
    let out = cvstore(&["hash", "x", "{not json"]);
    let err = failed(&out, USAGE);
    assert!(
        err.starts_with("error: PARAMS_JSON is not valid JSON"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());

    let err = failed(&cvstore(&["demo", "--window", "0s"]), USAGE);
    assert!(err.contains("a duration must be positive"), "{err}");
}

#[test]
fn help_lists_the_commands() {
    let text = ok(&cvstore(&["--help"]));
    for command in ["hash", "demo", "table", "cache", "health"] {
        assert!(text.contains(command), "{text}");
    }
    for flag in ["--endpoint", "--table", "--region", "--timeout", "--json"] {
        assert!(text.contains(flag), "{text}");
    }
    assert!(text.contains("3 not found"), "{text}");

    let text = ok(&cvstore(&["cache", "get", "--help"]));
    assert!(text.contains("Exits with status 3"), "{text}");
}

#[test]
fn short_demo_reports_no_violations() {
    let out = cvstore(&[
        "--json",
        "demo",
        "--workers",
        "3",
        "--requests",
        "40",
        "--limit",
        "5",
        "--window",
        "300ms",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["violations"], 0);
    assert_eq!(report["requests"], 120);
    assert_eq!(report["failed"], 0);
    let served = ["cache_hits", "dedupe_joins", "upstream_calls"]
        .iter()
        .map(|k| report[k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(
        served, 120,
        "every request is served by exactly one stage: {report}"
    );
    assert!(
        report["cache_hits"].as_u64().unwrap() > 0,
        "repeats hit the cache: {report}"
    );
    assert!(
        report["rate_limit_waits"].as_u64().unwrap() > 0,
        "the limit was reached: {report}"
    );
}

#[test]
fn dashboard_limit_out_of_range_is_a_usage_error() {
    // Refused before anything is connected (the endpoint is never reached).
    let out = cvstore(&[
        "--endpoint",
        "http://127.0.0.1:9",
        "dashboard",
        "--limit",
        "0",
    ]);
    let err = failed(&out, USAGE);
    assert!(err.starts_with("error: invalid --limit/--window"), "{err}");
    assert!(stdout(&out).is_empty());
}

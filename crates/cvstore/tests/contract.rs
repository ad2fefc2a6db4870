//! The command-line contract, run as a user runs the binary (against DynamoDB Local):
//! values come back as the exact text given, one size limit checked before anything is
//! written, every invalid argument is exit status 2 with one line naming it, errors
//! are one line in the user's terms (and one JSON object with `--json`), a closed
//! standard output is not an error, a denied acquire has its own status.

use std::io::Read;
use std::process::Stdio;

use comic_vine_dynamodb_store::PK;
use comic_vine_store::MAX_VALUE_BYTES;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::json;

mod support;

use comic_vine_testkit::dynamodb::create_key_only_table;
use support::*;

/// Runs the binary on one store with these arguments and standard input.
trait Run: Fn(&[&str], &[u8]) -> std::process::Output + Sync {}
impl<F: Fn(&[&str], &[u8]) -> std::process::Output + Sync> Run for F {}

/// `cvstore cache set KEY TEXT` then `cache get KEY`; returns what `get` printed.
fn set_then_get(run: &impl Run, key: &str, text: &str) -> String {
    ok(&run(&["cache", "set", key, text], b""));
    ok(&run(&["cache", "get", key], b""))
}

/// The table of a new table made by `cvstore table create`, as a [`Run`].
fn on_table(prefix: &str) -> impl Run {
    let table = created_table(prefix);
    move |args: &[&str], stdin: &[u8]| cvstore_with_input(&table, args, stdin)
}

/// One `#[test]` a line: `NAME => SCENARIO(RUN, …);`, the scenario on DynamoDB Local and,
/// under the name ending in `_on_sqlite`, the same on a SQLite file.
macro_rules! on_both {
    ($($name:ident => $scenario:expr;)*) => {
        $(
            #[test]
            fn $name() {
                $scenario;
            }
        )*
    };
}

/// A new SQLite file, as a [`Run`] (the file lives as long as it).
fn on_sqlite() -> impl Run {
    let db = Db::new();
    move |args: &[&str], stdin: &[u8]| db.run_with_input(args, stdin)
}

on_both! {
    values_come_back_as_the_exact_text_given => exact_text(&on_table("cli-exact"));
    values_come_back_as_the_exact_text_given_on_sqlite => exact_text(&on_sqlite());
}

fn exact_text(run: &impl Run) {
    for text in [
        "0.41817215137075947",
        "18446744073709551617",
        "-123456789012345678901234567890",
        "1e400",
        "1.0",
        "-0",
        r#"{"b": 1.50, "a": [1E2, 0.1]}"#,
    ] {
        assert_eq!(set_then_get(run, "k", text), format!("{text}\n"));
        // (Not parsed here: serde_json without arbitrary precision refuses 1e400.)
        let report = ok(&run(&["--json", "cache", "get", "k"], b""));
        let embedded = format!(r#""value":{text}"#);
        assert!(
            report.contains(&format!("{embedded},"))
                || report.trim_end().ends_with(&format!("{embedded}}}")),
            "{report}"
        );
    }
    // The JSON report embeds the stored text unchanged too.
    ok(&run(&["cache", "set", "k", "18446744073709551617"], b""));
    let report = run(&["--json", "cache", "get", "k"], b"");
    assert!(
        stdout(&report).contains(r#""value":18446744073709551617"#),
        "{}",
        stdout(&report)
    );
    // From standard input: the value without the surrounding whitespace.
    let set = run(&["cache", "set", "s", "-"], b"  0.1000\n");
    ok(&set);
    assert_eq!(ok(&run(&["cache", "get", "s"], b"")), "0.1000\n");
}

/// The text of a random JSON number: a float in one of Rust's renderings, or an integer
/// beyond 64 bits.
fn number_text() -> impl Strategy<Value = String> {
    use proptest::num::f64;
    use proptest::prelude::*;
    let float = (f64::NORMAL | f64::SUBNORMAL | f64::ZERO | f64::POSITIVE | f64::NEGATIVE)
        .prop_flat_map(|x| {
            prop_oneof![
                Just(format!("{x}")),
                Just(format!("{x:e}")),
                Just(format!("{x:?}"))
            ]
        });
    let big = "-?[1-9][0-9]{19,60}".prop_map(|s| s);
    let past_u64 = (u128::from(u64::MAX) + 1..).prop_map(|n| n.to_string());
    prop_oneof![float, big, past_u64]
}

/// A JSON array of 5 random numbers, some with spaces between them.
fn array_text() -> impl Strategy<Value = String> {
    use proptest::prelude::*;
    (
        proptest::collection::vec(number_text(), 5),
        prop_oneof![Just(","), Just(", "), Just(" ,\t")],
    )
        .prop_map(|(numbers, separator)| format!("[{}]", numbers.join(separator)))
}

on_both! {
    random_floats_and_big_integers_round_trip_exactly => random_numbers(&on_table("cli-prop"));
    random_floats_and_big_integers_round_trip_exactly_on_sqlite => random_numbers(&on_sqlite());
}

fn random_numbers(run: &impl Run) {
    let mut runner = TestRunner::default();
    // 200 numbers, in 40 values (a process costs far more than a number).
    let texts: Vec<String> = (0..40)
        .map(|_| array_text().new_tree(&mut runner).unwrap().current())
        .collect();
    std::thread::scope(|scope| {
        for (worker, chunk) in texts.chunks(10).enumerate() {
            scope.spawn(move || {
                for (i, text) in chunk.iter().enumerate() {
                    let key = format!("n-{worker}-{i}");
                    let got = if i % 2 == 0 {
                        set_then_get(run, &key, text)
                    } else {
                        ok(&run(&["cache", "set", &key, "-"], text.as_bytes()));
                        ok(&run(&["cache", "get", &key], b""))
                    };
                    assert_eq!(got, format!("{text}\n"), "value {text}");
                }
            });
        }
    });
}

on_both! {
    a_value_over_the_limit_is_refused_and_the_old_value_stays => size_limit(&on_table("cli-size"), false);
    a_value_over_the_limit_is_refused_and_the_old_value_stays_on_sqlite => size_limit(&on_sqlite(), true);
}

/// With `at_limit`, also stores a value of exactly the limit and reads it back.
fn size_limit(run: &impl Run, at_limit: bool) {
    ok(&run(&["cache", "set", "k", r#"{"old":true}"#], b""));
    let mut big = Vec::with_capacity(MAX_VALUE_BYTES + 1024 * 1024 + 2);
    big.push(b'"');
    big.resize(MAX_VALUE_BYTES + 1024 * 1024 + 1, b'a');
    big.push(b'"');
    let out = run(&["cache", "set", "k", "-"], &big);
    let err = failed(&out, USAGE);
    assert_eq!(
        err,
        format!(
            "error: VALUE_JSON is {} bytes; the limit is 32 MiB ({MAX_VALUE_BYTES} bytes)",
            big.len()
        )
    );
    assert_eq!(stdout(&out), "");
    assert_eq!(ok(&run(&["cache", "get", "k"], b"")), "{\"old\":true}\n");
    if at_limit {
        let mut max = big;
        max.truncate(MAX_VALUE_BYTES - 1);
        max.push(b'"');
        ok(&run(&["cache", "set", "k", "-"], &max));
        let got = ok(&run(&["cache", "get", "k"], b""));
        assert!(
            got.into_bytes() == [max, b"\n".to_vec()].concat(),
            "the value comes back whole"
        );
    }
    let help = ok(&run(&["cache", "set", "--help"], b""));
    assert!(help.contains("32 MiB"), "{help}");
    assert!(help.contains("720h"), "the maximum TTL: {help}");
}

#[test]
fn every_invalid_argument_exits_2_with_one_line_naming_it() {
    let long_key = "k".repeat(1025);
    let long_resource = "r".repeat(257);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["ratelimit", "acquire", "r", "--limit", "0"], "--limit"),
        (
            vec!["ratelimit", "acquire", "r", "--limit", "100001"],
            "--limit",
        ),
        (vec!["ratelimit", "status", "r", "--limit", "x"], "--limit"),
        (vec!["ratelimit", "status", ""], "RESOURCE"),
        (vec!["ratelimit", "reset", &long_resource], "RESOURCE"),
        (vec!["cache", "set", "k", "1", "--ttl", "721h"], "--ttl"),
        (vec!["cache", "get", ""], "KEY"),
        (vec!["cache", "get", &long_key], "KEY"),
        (vec!["cache", "delete", "a\nb"], "KEY"),
        (vec!["cache", "set", "k", "{not json"], "VALUE_JSON"),
        (vec!["cache", "set", "k", "1 2"], "VALUE_JSON"),
        (vec!["--table", "ab", "cache", "get", "k"], "--table"),
        (vec!["--table", "a b", "health"], "--table"),
        (vec!["--endpoint", "ftp://x", "health"], "--endpoint"),
        (vec!["--endpoint", "http://", "health"], "--endpoint"),
        (
            vec!["--endpoint", "http://127.0.0.1:99999", "health"],
            "--endpoint",
        ),
        (vec!["--timeout", "0ms", "health"], "--timeout"),
        (vec!["hash", "", "{}"], "ENDPOINT"),
        (vec!["hash", "issues", "[1]"], "PARAMS_JSON"),
        (vec!["hash", "issues", "{not json"], "PARAMS_JSON"),
        (
            vec![
                "ratelimit",
                "acquire",
                "r",
                "--limit",
                "5",
                "--priority",
                "user",
                "--min-user-reserved",
                "5",
            ],
            "--min-user-reserved",
        ),
        (vec!["cache", "frobnicate"], "frobnicate"),
    ];
    for (args, named) in cases {
        // Nothing listens there: every case must be refused before any request.
        let out = bare_command()
            .args(["--endpoint", "http://127.0.0.1:1", "--table", "cli-usage"])
            .args(&args)
            .output()
            .expect("run cvstore");
        let err = failed(&out, USAGE);
        assert!(err.contains(named), "{args:?}: {err}");
        assert!(err.len() < 300, "{args:?}: short: {err}");
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    // The ranges are stated.
    let err = failed(
        &cvstore("t-range", &["ratelimit", "acquire", "r", "--limit", "0"]),
        USAGE,
    );
    assert!(err.contains("1 to 100000"), "{err}");
    let err = failed(
        &cvstore("t-range", &["cache", "set", "k", "1", "--ttl", "721h"]),
        USAGE,
    );
    assert!(err.contains("720h"), "{err}");
    let err = failed(&cvstore("ab", &["cache", "get", "k"]), USAGE);
    assert!(err.contains("3 to 255"), "{err}");
}

#[test]
fn maxima_and_statuses_are_in_the_help() {
    let help = ok(&bare_command()
        .args(["ratelimit", "acquire", "--help"])
        .output()
        .unwrap());
    assert!(help.contains("100000"), "{help}");
    assert!(help.contains("4 denied"), "{help}");
    assert!(help.contains("--min-user-reserved"), "{help}");
    let help = ok(&bare_command().args(["fetch", "--help"]).output().unwrap());
    assert!(
        help.contains("3 not found (upstream answered 404)"),
        "{help}"
    );
    assert!(help.contains("--stale-if-rate-limited"), "{help}");
    let help = ok(&bare_command().arg("--help").output().unwrap());
    assert!(help.contains("--verbose"), "{help}");
    assert!(help.contains("4 denied"), "{help}");
}

#[test]
fn json_failures_print_one_error_object() {
    let table = unique_table_name("cli-json-missing");
    let out = cvstore(&table, &["--json", "cache", "get", "k"]);
    let err = failed(&out, 1);
    assert!(err.contains("not found"), "{err}");
    assert_eq!(
        json_out(&out),
        json!({"error": {"kind": "table_not_found", "message": err.trim_start_matches("error: ")}})
    );
    let out = cvstore(
        &table,
        &["--json", "ratelimit", "acquire", "r", "--limit", "0"],
    );
    failed(&out, USAGE);
    assert_eq!(json_out(&out)["error"]["kind"], "invalid_usage");
    let out = cvstore(&table, &["--json", "cache", "nope"]);
    failed(&out, USAGE);
    assert_eq!(json_out(&out)["error"]["kind"], "invalid_usage");
    let out = cvstore(&table, &["--json", "cache", "get", ""]);
    failed(&out, USAGE);
    assert_eq!(json_out(&out)["error"]["kind"], "invalid_usage");
}

#[tokio::test]
async fn a_table_of_another_shape_is_named_and_points_to_verify() {
    let table = unique_table_name("cli-shape");
    create_key_only_table(&table, "id").await;
    assert_ne!(PK, "id");
    for args in [
        &["cache", "get", "k"][..],
        &["cache", "set", "k", "1"],
        &["cache", "stats"],
        &["ratelimit", "acquire", "r"],
        &["dedupe", "status", "h"],
        &["health"],
    ] {
        let out = cvstore(&table, args);
        let err = failed(&out, 1);
        assert!(
            err.contains(&format!("cvstore table verify --table {table}")),
            "{args:?}: {err}"
        );
        assert!(err.contains("schema"), "{args:?}: {err}");
        for dump in ["Error {", "aws_request_id", "unhandled error"] {
            assert!(!err.contains(dump), "{args:?}: {err}");
        }
    }
    let out = cvstore(&table, &["--json", "cache", "get", "k"]);
    assert_eq!(json_out(&out)["error"]["kind"], "table_mismatch");
}

#[test]
fn logs_are_off_by_default_and_never_coloured_on_a_pipe() {
    let refused = |extra: &[&str]| {
        bare_command()
            .args(["--endpoint", "http://127.0.0.1:1", "--timeout", "2s"])
            .args(extra)
            .args(["--table", "cli-logs", "cache", "get", "k"])
            .output()
            .expect("run cvstore")
    };
    failed(&refused(&[]), 1);
    let verbose = refused(&["-vvv"]);
    assert_eq!(verbose.status.code(), Some(1));
    let err = stderr(&verbose);
    assert!(err.lines().count() > 1, "-vvv logs: {err}");
    assert!(!err.contains('\u{1b}'), "no ANSI escapes on a pipe: {err}");
    assert!(
        err.trim_end()
            .ends_with("Connection refused (os error 111))"),
        "{err}"
    );
}

#[test]
fn a_closed_stdout_ends_quietly_with_success() {
    let table = created_table("cli-pipe");
    let value = format!("[{}]", vec!["1234567890"; 200_000].join(","));
    ok(&cvstore_with_input(
        &table,
        &["cache", "set", "big", "-"],
        value.as_bytes(),
    ));
    let mut child = bare_command()
        .args(["--endpoint", endpoint(), "--table", &table])
        .args(["cache", "get", "big"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cvstore");
    let mut first = [0_u8; 1];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("one byte");
    // The pipe's reading end is closed here, like `| head -c1`.
    let out = child.wait_with_output().expect("wait");
    assert_eq!(first, *b"[");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn a_denied_acquire_has_its_own_status() {
    let table = created_table("cli-denied");
    let args = [
        "ratelimit",
        "acquire",
        "r",
        "--limit",
        "1",
        "--window",
        "1h",
    ];
    assert!(ok(&cvstore(&table, &args)).starts_with("granted: r"));
    let denied = cvstore(&table, &args);
    assert_eq!(denied.status.code(), Some(DENIED), "{}", stderr(&denied));
    assert!(stdout(&denied).starts_with("denied: r, retry in "));
    assert_eq!(stderr(&denied), "");
    let mut json_args = vec!["--json"];
    json_args.extend(args);
    let denied = cvstore(&table, &json_args);
    assert_eq!(denied.status.code(), Some(DENIED));
    assert_eq!(json_out(&denied)["granted"], false);
}

/// `ratelimit acquire RESOURCE --limit LIMIT --priority PRIORITY EXTRA…`.
fn acquire(
    resource: &'static str,
    limit: &'static str,
    priority: &'static str,
    extra: &[&'static str],
) -> Vec<&'static str> {
    let head = ["ratelimit", "acquire", resource, "--limit", limit];
    [&head[..], &["--priority", priority], extra].concat()
}

#[test]
fn adaptive_limits_below_the_default_reserve_work() {
    let table = created_table("cli-small");
    for priority in ["user", "background"] {
        let args = acquire("r", "5", priority, &[]);
        assert!(ok(&cvstore(&table, &args)).starts_with("granted: r"));
    }
    let one = acquire("one", "1", "background", &[]);
    assert!(ok(&cvstore(&table, &one)).starts_with("granted: one"));
    let reserved = acquire("two", "10", "user", &["--min-user-reserved", "2"]);
    ok(&cvstore(&table, &[&["--json"][..], &reserved].concat()));
    let too_many = acquire("r", "3", "user", &["--min-user-reserved", "3"]);
    let err = failed(&cvstore(&table, &too_many), USAGE);
    assert!(
        err.contains("--min-user-reserved") && err.contains("--limit"),
        "{err}"
    );
    assert!(!err.contains("adaptive."), "{err}");
}

#[test]
fn empty_environment_variables_mean_unset() {
    let table = created_table("cli-env-empty");
    ok(&cvstore(&table, &["cache", "set", "k", "7"]));
    // No `--endpoint`: the SDK's own AWS_ENDPOINT_URL applies when CVSTORE_ENDPOINT is empty.
    let out = bare_command()
        .env("CVSTORE_ENDPOINT", "")
        .env("CVSTORE_TIMEOUT", "")
        .env("CVSTORE_LOG", "")
        .env("CVSTORE_TABLE", &table)
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .args(["cache", "get", "k"])
        .output()
        .expect("run cvstore");
    assert_eq!(ok(&out), "7\n");
    assert_eq!(stderr(&out), "");
    let schema = bare_command()
        .env("CVSTORE_TABLE", "")
        .args(["table", "schema", "--format", "create-table"])
        .output()
        .expect("run cvstore");
    assert_eq!(json_out(&schema)["TableName"], "comic-vine-store");
}

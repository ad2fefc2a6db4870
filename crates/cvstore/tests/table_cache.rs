//! `cvstore table`, `cache` and `health` against a real DynamoDB Local (started by the
//! `local` harness, or the one `DYNAMODB_ENDPOINT` names), run as a user runs them.

use std::time::Duration;

use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::TimeToLiveSpecification;
use comic_vine_dynamodb_store::local::{DynamoDbLocal, unique_table_name};
use comic_vine_dynamodb_store::{PK, TTL, create_table};
use serde_json::{Value, json};

mod support;

use comic_vine_testkit::dynamodb::create_key_only_table;
use support::*;
#[test]
fn verify_of_a_missing_table_fails_naming_it() {
    let table = unique_table_name("cli-missing");
    let out = cvstore(&table, &["table", "verify"]);
    assert_names_the_missing_table(&table, &failed(&out, 1), "");
    assert_eq!(stdout(&out).trim(), missing_table_text(&table));
}

#[test]
fn create_then_verify_is_ok_and_create_is_idempotent() {
    let table = created_table("cli-create");
    let out = cvstore(&table, &["table", "verify"]);
    assert_eq!(ok(&out).trim(), format!("table {table}: OK"));

    let again = cvstore(&table, &["table", "create"]);
    assert_eq!(ok(&again).trim(), format!("found table `{table}`"));
    let again = cvstore(&table, &["--json", "table", "create"]);
    ok(&again);
    assert_eq!(
        json_out(&again),
        json!({"table": table, "created": false, "enabled_ttl": false})
    );
    let verify = cvstore(&table, &["--json", "table", "verify"]);
    ok(&verify);
    assert_eq!(
        json_out(&verify),
        json!({"table": table, "ok": true, "differences": []})
    );
}

#[tokio::test]
async fn create_enables_time_to_live_on_a_table_without_it() {
    let client = DynamoDbLocal::shared().expect("DynamoDB Local").client();
    let table = unique_table_name("cli-ttl");
    create_table(&client, &table).await.expect("create table");
    let disable = TimeToLiveSpecification::builder()
        .attribute_name(TTL)
        .enabled(false)
        .build()
        .expect("ttl spec");
    client
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(disable)
        .send()
        .await
        .expect("disable ttl");

    let verify = cvstore(&table, &["table", "verify"]);
    let err = failed(&verify, 1);
    assert!(
        err.contains("does not match the schema: 1 difference"),
        "{err}"
    );
    assert!(
        stdout(&verify).starts_with("time to live is not enabled"),
        "{}",
        stdout(&verify)
    );
    let create = cvstore(&table, &["table", "create"]);
    assert_eq!(
        ok(&create).trim(),
        format!("found table `{table}`; enabled time to live")
    );
    ok(&cvstore(&table, &["table", "verify"]));
}

#[tokio::test]
async fn verify_lists_each_difference_of_a_foreign_table_on_its_own_line() {
    let table = unique_table_name("cli-foreign");
    // Partition key only: no sort key, no index, no time to live.
    create_key_only_table(&table, PK).await;

    let out = cvstore(&table, &["table", "verify"]);
    let err = failed(&out, 1);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        err.contains(&format!(
            "table `{table}` does not match the schema: {} difference(s)",
            lines.len()
        )),
        "{err}"
    );
    assert!(
        lines.contains(&"table sort key (RANGE) is missing, expected `SK`"),
        "{text}"
    );
    assert!(
        lines.contains(&"global secondary index `GSI1` is missing"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("time to live is not enabled")),
        "{text}"
    );

    let json = cvstore(&table, &["--json", "table", "verify"]);
    failed(&json, 1);
    let report = json_out(&json);
    assert_eq!(report["ok"], false);
    assert_eq!(
        report["differences"].as_array().map(Vec::len),
        Some(lines.len())
    );

    // `table create` refuses to take over a table with another schema.
    let create = cvstore(&table, &["table", "create"]);
    let err = failed(&create, 1);
    assert!(err.contains("already exists with another schema"), "{err}");
}

#[test]
fn schema_prints_the_definition_as_json() {
    let table = "my-comic-cache";
    let out = cvstore(table, &["table", "schema"]);
    let schema = json_out(&out);
    ok(&out);
    let create = &schema["create_table"];
    assert_eq!(create["TableName"], table);
    assert_eq!(
        create["KeySchema"],
        json!([
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ])
    );
    assert_eq!(create["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(create["GlobalSecondaryIndexes"][0]["IndexName"], "GSI1");
    assert_eq!(
        schema["update_time_to_live"],
        json!({
            "TableName": table,
            "TimeToLiveSpecification": {"AttributeName": "TTL", "Enabled": true},
        })
    );

    let only_create = cvstore(table, &["table", "schema", "--format", "create-table"]);
    assert_eq!(json_out(&only_create), *create);

    let out = cvstore(table, &["table", "schema", "--format", "cloudformation"]);
    let template = json_out(&out);
    let resource = &template["Resources"]["ComicVineStoreTable"];
    assert_eq!(resource["Type"], "AWS::DynamoDB::Table");
    assert_eq!(resource["Properties"]["TableName"], table);
    assert_eq!(resource["Properties"]["KeySchema"], create["KeySchema"]);
    assert_eq!(
        resource["Properties"]["TimeToLiveSpecification"],
        json!({"AttributeName": "TTL", "Enabled": true})
    );

    let bad = cvstore("x", &["table", "schema"]);
    let err = failed(&bad, USAGE);
    assert!(err.starts_with("error: invalid --table: "), "{err}");
}

#[test]
fn set_then_get_round_trips_the_exact_value() {
    let table = created_table("cli-roundtrip");
    let value = r#"{"results":[{"id":1,"name":"Ünïcode \"quoted\""},null,2.5,-0,true],"n":1e300}"#;
    let expected: Value = serde_json::from_str(value).unwrap();
    assert_ne!(value, serde_json::to_string(&expected).unwrap());

    let set = cvstore(&table, &["cache", "set", "issue-1", value, "--ttl", "90s"]);
    let text = ok(&set);
    assert!(text.starts_with("stored `issue-1` ("), "{text}");

    let get = cvstore(&table, &["cache", "get", "issue-1"]);
    let printed = ok(&get);
    // Exactly the text given (not re-serialized), one line: pipeable.
    assert_eq!(printed, format!("{value}\n"));
    assert_eq!(serde_json::from_str::<Value>(&printed).unwrap(), expected);

    let json_get = cvstore(&table, &["--json", "cache", "get", "issue-1"]);
    ok(&json_get);
    let report = json_out(&json_get);
    assert_eq!(report["found"], true);
    assert_eq!(report["value"], expected);
    assert_eq!(report["metrics"]["operations"], 1);

    let json_set = cvstore(
        &table,
        &["--json", "cache", "set", "issue-2", "[1]", "--ttl", "1h"],
    );
    ok(&json_set);
    let report = json_out(&json_set);
    assert_eq!(report["ttl_ms"], 3_600_000);
    assert_eq!(report["bytes"], 3);
    assert!(
        report["metrics"]["write_units"].as_f64().unwrap() > 0.0,
        "{report}"
    );

    let delete = cvstore(&table, &["cache", "delete", "issue-1"]);
    assert!(ok(&delete).starts_with("deleted `issue-1`"));
    let gone = cvstore(&table, &["cache", "get", "issue-1"]);
    assert_eq!(gone.status.code(), Some(NOT_FOUND), "{}", stderr(&gone));
    assert_eq!(stdout(&gone), "");
}

#[test]
fn a_multi_megabyte_value_goes_through_stdin() {
    let table = created_table("cli-stdin");
    // ~3 MB of poorly compressible JSON, so that it is stored in chunks.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let items: Vec<Value> = (0..60_000)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            json!({"id": i, "s": format!("{state:016x}{:016x}", state.rotate_left(17))})
        })
        .collect();
    let value = json!({"results": items, "status_code": 1});
    let bytes = serde_json::to_vec(&value).unwrap();
    assert!(bytes.len() > 3_000_000, "{}", bytes.len());

    let set = cvstore_with_input(&table, &["--json", "cache", "set", "big", "-"], &bytes);
    ok(&set);
    assert_eq!(json_out(&set)["bytes"], bytes.len());

    let get = cvstore(&table, &["cache", "get", "big"]);
    ok(&get);
    assert_eq!(get.stdout.len(), bytes.len() + 1, "the value and a newline");
    let read: Value = serde_json::from_slice(&get.stdout).unwrap();
    assert_eq!(read, value);

    let stats = cvstore(&table, &["--json", "cache", "stats"]);
    ok(&stats);
    assert_eq!(json_out(&stats)["entries"], 1);
}

#[test]
fn invalid_ttls_and_values_are_rejected_before_anything_is_stored() {
    let table = created_table("cli-invalid");
    for (ttl, message) in [
        ("0s", "a duration must be positive"),
        ("0", "a duration must be positive"),
        ("3x", "unknown unit"),
        ("soon", "is not a duration"),
    ] {
        let out = cvstore(&table, &["cache", "set", "k", "1", "--ttl", ttl]);
        assert_eq!(out.status.code(), Some(2), "--ttl {ttl}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(message),
            "--ttl {ttl}: {}",
            stderr(&out)
        );
    }
    // Longer than the cache's maximum TTL (30 days).
    let err = failed(
        &cvstore(&table, &["cache", "set", "k", "1", "--ttl", "1000h"]),
        USAGE,
    );
    assert_eq!(
        err,
        "error: invalid --ttl: 1000h is longer than the maximum of 720h (30 days)"
    );

    let err = failed(&cvstore(&table, &["cache", "set", "k", "{not json"]), USAGE);
    assert!(
        err.starts_with("error: VALUE_JSON is not valid JSON"),
        "{err}"
    );
    let err = failed(
        &cvstore_with_input(&table, &["cache", "set", "k", "-"], b"[1,"),
        USAGE,
    );
    assert!(
        err.starts_with("error: VALUE_JSON (standard input) is not valid JSON"),
        "{err}"
    );
    let err = failed(&cvstore(&table, &["cache", "set", "", "1"]), USAGE);
    assert_eq!(err, "error: invalid KEY: must not be empty");

    let get = cvstore(&table, &["cache", "get", "k"]);
    assert_eq!(get.status.code(), Some(NOT_FOUND));
}

#[test]
fn get_of_a_missing_key_exits_with_the_not_found_status_and_prints_nothing() {
    let table = created_table("cli-miss");
    let out = cvstore(&table, &["cache", "get", "nothing-here"]);
    assert_eq!(out.status.code(), Some(NOT_FOUND), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");

    let json = cvstore(&table, &["--json", "cache", "get", "nothing-here"]);
    assert_eq!(json.status.code(), Some(NOT_FOUND));
    let report = json_out(&json);
    assert_eq!(report["found"], false);
    assert_eq!(report["key"], "nothing-here");
    assert!(report.get("value").is_none(), "{report}");
}

#[test]
fn stats_clear_and_cleanup_report_counts() {
    let table = created_table("cli-counts");
    for key in ["a", "b", "c"] {
        ok(&cvstore(&table, &["cache", "set", key, r#"{"v":1}"#]));
    }
    ok(&cvstore(
        &table,
        &["cache", "set", "short", "2", "--ttl", "1s"],
    ));
    let stats = |expected: Value| {
        let out = cvstore(&table, &["--json", "cache", "stats"]);
        ok(&out);
        let report = json_out(&out);
        assert_eq!(report["table"], table.as_str());
        assert_eq!(report["entries"], expected["entries"], "{report}");
        assert_eq!(
            report["expired_entries"], expected["expired_entries"],
            "{report}"
        );
        // Nothing was left half-written: the orphan counts are there, and zero.
        assert_eq!(
            (&report["orphan_chunks"], &report["orphan_bytes"]),
            (&json!(0), &json!(0)),
            "{report}"
        );
        assert!(
            report["metrics"]["requests"].as_u64().unwrap() > 0,
            "{report}"
        );
        report
    };
    let before = stats(json!({"entries": 4, "expired_entries": 0}));
    assert!(
        before["approximate_bytes"].as_u64().unwrap() > 0,
        "{before}"
    );

    std::thread::sleep(Duration::from_millis(1_300));
    stats(json!({"entries": 4, "expired_entries": 1}));
    let text = cvstore(&table, &["cache", "stats"]);
    assert!(
        ok(&text).starts_with(&format!(
            "table {table}: 4 entries (1 expired; 4 without a resource), about "
        )),
        "{}",
        stdout(&text)
    );
    assert!(
        stdout(&text)
            .trim_end()
            .ends_with("; 0 orphaned chunks (0 bytes)"),
        "{}",
        stdout(&text)
    );

    let cleanup = cvstore(&table, &["--json", "cache", "cleanup"]);
    ok(&cleanup);
    assert_eq!(json_out(&cleanup)["removed"], 1);
    let again = cvstore(&table, &["cache", "cleanup"]);
    assert_eq!(
        ok(&again).trim(),
        format!("removed 0 expired entries from table {table}")
    );
    stats(json!({"entries": 3, "expired_entries": 0}));

    let clear = cvstore(&table, &["--json", "cache", "clear"]);
    ok(&clear);
    let report = json_out(&clear);
    assert_eq!(report["removed"], 3);
    assert!(
        report["metrics"]["write_units"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    stats(json!({"entries": 0, "expired_entries": 0}));
    let clear = cvstore(&table, &["cache", "clear"]);
    assert_eq!(
        ok(&clear).trim(),
        format!("removed 0 entries from table {table}")
    );
}

#[test]
fn commands_on_a_missing_table_fail_without_creating_it() {
    let table = unique_table_name("cli-absent");
    let commands: [&[&str]; 8] = [
        &["cache", "get", "k"],
        &["cache", "set", "k", "1"],
        &["cache", "delete", "k"],
        &["cache", "clear"],
        &["cache", "purge", "--resource", "volumes"],
        &["cache", "cleanup"],
        &["cache", "stats"],
        &["health"],
    ];
    for args in commands {
        let out = cvstore(&table, args);
        assert_names_the_missing_table(&table, &failed(&out, 1), &format!("{args:?}: "));
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    let verify = cvstore(&table, &["table", "verify"]);
    failed(&verify, 1);
    assert_eq!(stdout(&verify).trim(), missing_table_text(&table));
}

#[test]
fn health_reports_a_healthy_table() {
    let table = created_table("cli-health");
    let out = cvstore(&table, &["health"]);
    let text = ok(&out);
    assert!(
        text.starts_with(&format!("healthy: table `{table}` answered in ")),
        "{text}"
    );
    let json = cvstore(&table, &["--json", "health"]);
    ok(&json);
    let report = json_out(&json);
    assert_eq!(report["healthy"], true);
    assert_eq!(report["table"], table.as_str());
    assert_eq!(report["endpoint"], endpoint());
    assert!(report["latency_ms"].as_f64().unwrap() >= 0.0, "{report}");
    assert_eq!(report["metrics"]["requests"], 1);
}

#[test]
fn flags_can_come_from_the_environment() {
    let table = created_table("cli-env");
    let out = bare_command()
        .env("CVSTORE_ENDPOINT", endpoint())
        .env("CVSTORE_TABLE", &table)
        .env("CVSTORE_TIMEOUT", "10s")
        .args(["cache", "set", "from-env", "42"])
        .output()
        .expect("run cvstore");
    ok(&out);
    let get = cvstore(&table, &["cache", "get", "from-env"]);
    assert_eq!(ok(&get), "42\n");
}

#[test]
fn a_refused_connection_fails_fast_with_one_line() {
    for args in [
        &["cache", "get", "k"][..],
        &["table", "create"],
        &["table", "verify"],
        &["health"],
    ] {
        let out = bare_command()
            .args(["--endpoint", "http://127.0.0.1:1", "--timeout", "3s"])
            .args(["--table", "cli-refused"])
            .args(args)
            .output()
            .expect("run cvstore");
        let err = failed(&out, 1);
        // Fast: ended by the refusal after its retries, not by the 3 s timeout.
        assert!(err.contains("Connection refused"), "{args:?}: {err}");
        assert!(!err.contains("timed out"), "{args:?}: {err}");
        assert_eq!(stdout(&out), "", "{args:?}");
    }
}

#[test]
fn invalid_flags_name_the_flag() {
    let out = bare_command()
        .args(["--endpoint", "localhost:8000", "cache", "get", "k"])
        .output()
        .expect("run cvstore");
    let err = failed(&out, USAGE);
    assert_eq!(
        err,
        r#"error: invalid --endpoint: "localhost:8000" is not an http:// or https:// URL"#
    );
    let out = bare_command()
        .args(["--table", "no spaces allowed", "health"])
        .output()
        .expect("run cvstore");
    let err = failed(&out, USAGE);
    assert!(err.starts_with("error: invalid --table: "), "{err}");
    let out = bare_command()
        .args(["--endpoint", "http://127.0.0.1:1", "--region", "", "health"])
        .output()
        .expect("run cvstore");
    assert_eq!(
        failed(&out, USAGE),
        "error: invalid --region: must not be empty"
    );
    let out = bare_command()
        .args(["--timeout", "0ms", "health"])
        .output()
        .expect("run cvstore");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("a duration must be positive"));
}

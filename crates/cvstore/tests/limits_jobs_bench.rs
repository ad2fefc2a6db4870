//! `cvstore ratelimit`, `dedupe status` and `bench` against a real DynamoDB Local.

mod support;

use support::*;

#[test]
fn acquire_grants_up_to_the_limit_then_reports_the_wait() {
    let table = created_table("cli-rl");
    let args = two_issues_an_hour(true, "acquire");
    for remaining in [1, 0] {
        let d = json_out(&cvstore(&table, &args));
        assert_eq!(d["granted"], true, "{d}");
        assert_eq!(d["remaining"], remaining);
        assert_eq!(d["wait_ms"], 0);
        assert!(d["granted_at"].as_u64().is_some());
    }
    let denied = cvstore(&table, &args);
    assert_eq!(denied.status.code(), Some(DENIED), "{}", stderr(&denied));
    let denied = json_out(&denied);
    assert_eq!(denied["granted"], false, "{denied}");
    assert_eq!(denied["limit"], 2);
    let wait = denied["wait_ms"].as_u64().unwrap();
    assert!(
        wait > 3_500_000 && wait <= 3_600_000,
        "about an hour: {wait}"
    );
    assert!(denied["reset_at"].as_u64().unwrap() > denied["granted_at"].as_u64().unwrap_or(0));

    let denied = cvstore(&table, &two_issues_an_hour(false, "acquire"));
    assert_eq!(denied.status.code(), Some(DENIED), "{}", stderr(&denied));
    let text = stdout(&denied);
    assert!(text.starts_with("denied: issues, retry in "), "{text}");
    let wait = ok(&cvstore(&table, &two_issues_an_hour(false, "wait-time")));
    assert!(wait.trim().parse::<u64>().unwrap() > 3_500_000, "{wait}");
    let status = json_out(&cvstore(&table, &two_issues_an_hour(true, "status")));
    assert_eq!(
        (status["remaining"].as_u64(), status["window_ms"].as_u64()),
        (Some(0), Some(3_600_000))
    );

    ok(&cvstore(&table, &["ratelimit", "reset", "issues"]));
    assert_eq!(
        json_out(&cvstore(&table, &args))["granted"],
        true,
        "reset frees the window"
    );
}

#[test]
fn adaptive_acquire_reports_the_split() {
    let table = created_table("cli-ad");
    let d = json_out(&cvstore(
        &table,
        &[
            "--json",
            "ratelimit",
            "acquire",
            "search",
            "--priority",
            "user",
        ],
    ));
    assert_eq!(d["granted"], true, "{d}");
    let status = json_out(&cvstore(
        &table,
        &["--json", "ratelimit", "status", "search", "--adaptive"],
    ));
    let split = &status["adaptive"];
    assert_eq!(
        split["user_reserved"].as_u64().unwrap() + split["background_max"].as_u64().unwrap(),
        60
    );
    // The split in force was calculated before the grant; it is recalculated every 30 s.
    assert!(
        split["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{status}"
    );
    assert_eq!(status["remaining"], 59, "{status}");
    // The plain limiter's state is separate.
    let plain = json_out(&cvstore(
        &table,
        &["--json", "ratelimit", "status", "search"],
    ));
    assert_eq!(plain["remaining"], 60);
    assert!(plain["adaptive"].is_null());
    // A reserve that would swallow the limit is refused with the flag named.
    let err = failed(
        &cvstore(
            &table,
            &[
                "ratelimit",
                "acquire",
                "x",
                "--limit",
                "5",
                "--priority",
                "background",
                "--min-user-reserved",
                "5",
            ],
        ),
        USAGE,
    );
    assert!(
        err.starts_with("error: invalid --min-user-reserved: 5"),
        "{err}"
    );
}

#[test]
fn bad_rate_limit_arguments_are_one_line_errors() {
    let table = created_table("cli-rl-bad");
    let err = failed(
        &cvstore(&table, &["ratelimit", "acquire", "issues", "--limit", "0"]),
        USAGE,
    );
    assert!(
        err.contains("--limit") && err.contains("from 1 to 100000"),
        "{err}"
    );
    let usage = cvstore(
        &table,
        &["ratelimit", "acquire", "issues", "--window", "soon"],
    );
    assert_eq!(usage.status.code(), Some(2));
    let err = failed(&cvstore(&table, &["ratelimit", "status", ""]), USAGE);
    assert_eq!(err, "error: invalid RESOURCE: must not be empty");
}

#[test]
fn dedupe_status_of_an_unknown_hash_is_not_found() {
    let table = created_table("cli-dd");
    let out = cvstore(&table, &["dedupe", "status", "0123abcd"]);
    assert_eq!(out.status.code(), Some(NOT_FOUND));
    assert!(stdout(&out).is_empty());
    let report = json_out(&cvstore(
        &table,
        &["--json", "dedupe", "status", "0123abcd"],
    ));
    assert!(report["job"].is_null(), "{report}");
}

/// How long `bench_compares_each_operation_with_its_raw_call` runs each row, in ms.
const ROW_MS: u64 = 300;

#[test]
fn bench_compares_each_operation_with_its_raw_call() {
    let duration = format!("{ROW_MS}ms");
    let report = report_on_a_table_of_its_own(
        "cli-bench",
        "bench",
        &[
            "--duration",
            &duration,
            "--rounds",
            "2",
            "--concurrency",
            "1,4",
        ],
    );
    let rows = report["rows"].as_array().unwrap();
    let row = |op: &str, c: u64| {
        rows.iter()
            .find(|r| r["operation"] == op && r["concurrency"] == c)
            .unwrap_or_else(|| panic!("no row {op} at {c}: {report}"))
    };
    for c in [1, 4] {
        let get = row("cache get (hit)", c);
        assert_eq!(get["baseline"], "raw GetItem (hit)");
        // The ratio is the median of the two rounds' back-to-back ratios (ABBA), within
        // their range; the raw call itself has none.
        let f =
            |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{k}: {r}"));
        let (low, ratio, high) = (
            f(get, "ratio_low"),
            f(get, "ratio_to_baseline"),
            f(get, "ratio_high"),
        );
        assert!(0.0 < low && low <= ratio && ratio <= high, "{get}");
        assert!(
            (ratio - (low + high) / 2.0).abs() < 1e-9,
            "median of two: {get}"
        );
        assert!(row("raw GetItem (hit)", c)["ratio_low"].is_null());
        assert_eq!(get["requests_per_op"], 1.0);
        let eventual = row("cache get (hit, eventual)", c);
        assert_eq!(eventual["read_units_per_op"], 0.5, "{eventual}");
        let near = row("near cache get (hit)", c);
        assert_eq!(near["baseline"], "raw GetItem (hit)");
        assert_eq!(near["requests_per_op"], 0.0, "a near hit sends no request");
        assert_eq!(near["read_units_per_op"], 0.0);
        let near_miss = row("near get (local miss)", c);
        assert_eq!(
            near_miss["requests_per_op"], 1.0,
            "the shared hit behind it"
        );
        assert_eq!(row("cache set 1 KB", c)["write_units_per_op"], 1.0);
        assert_eq!(row("try_acquire (denied)", c)["requests_per_op"], 0.0);
        // At a limit of 10,000 the state is the bounded bucketed window: one item under
        // 1 KB, so a grant writes at most one unit (the exact log would be about 20).
        let large = row("try_acquire (granted, limit 10,000)", c);
        assert!(
            large["write_units_per_op"].as_f64().unwrap() <= 1.0,
            "{large}"
        );
        let cycle = row("dedupe owner cycle", c);
        assert_eq!(cycle["baseline"], "raw conditional Put+Update");
        assert_eq!(
            cycle["requests_per_op"], 2.0,
            "register + complete: {cycle}"
        );
        // Measured: a whole bench run adds one state read in total, whatever its length
        // (and concurrent decisions share writes: below 1 per decision at 4). Counted in
        // requests, not per decision: a loaded machine makes few decisions in 300 ms, and
        // one read over 9 of them is already 1.11 per decision. (Two rounds of 150 ms.)
        let granted = row("try_acquire (granted)", c);
        let per_decision = granted["requests_per_op"].as_f64().unwrap();
        let decisions = granted["ops_per_sec"].as_f64().unwrap() * ROW_MS as f64 / 1000.0;
        let extra = (per_decision - 1.0) * decisions;
        assert!(
            extra <= 1.5,
            "{per_decision} requests per decision over about {decisions} decisions: {granted}"
        );
    }
}

#[test]
fn demo_on_dynamodb_with_four_processes_reports_no_violations() {
    let report = report_on_a_table_of_its_own(
        "cli-demo",
        "demo",
        &[
            "--workers",
            "4",
            "--requests",
            "15",
            "--limit",
            "5",
            "--window",
            "1s",
        ],
    );
    assert_eq!(report["violations"], 0, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["requests"], 60);
    assert!(
        report["backend"]
            .as_str()
            .unwrap()
            .contains("4 OS processes"),
        "{report}"
    );
    let served: u64 = ["cache_hits", "dedupe_joins", "upstream_calls"]
        .iter()
        .map(|k| report[k].as_u64().unwrap())
        .sum();
    assert_eq!(served, 60, "{report}");
    let per_request = report["dynamodb_requests_per_request"].as_f64().unwrap();
    assert!(per_request > 0.5 && per_request < 20.0, "{report}");
}

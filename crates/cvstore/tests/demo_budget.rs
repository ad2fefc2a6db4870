//! `cvstore demo --budget-spent`: the budget-spent phase run with stale serving off and
//! on against the real stub on 127.0.0.1, on the in-memory stores, on a SQLite file and
//! on DynamoDB Local (OS processes for both), checked against the design's relations.

mod support;

use serde_json::Value;
use support::{bare_command, endpoint, ok};

/// The answer kinds that add up to a count's `requests`.
const KINDS: [&str; 6] = [
    "fresh",
    "revalidated",
    "stale",
    "joined",
    "upstream",
    "failed",
];
/// The reasons that add up to a count's `stale`.
const REASONS: [&str; 3] = [
    "stale_while_revalidate",
    "stale_if_error",
    "stale_if_rate_limited",
];
const WORKERS: u64 = 4;
const REQUESTS: u64 = 60;
const LIMIT: u64 = 20;
/// Keys per resource the warm-up caches (3/4 of the limit), each with one upstream call.
const SEEN_KEYS: u64 = LIMIT * 3 / 4;
const RESOURCES: [&str; 4] = ["characters", "issues", "search", "volumes"];

/// `cvstore <flags> --json demo --budget-spent …` with an HTML report: the JSON report
/// (after asserting success) and the page. The window (a minute) is longer than the
/// run, so the warm-up's calls are in it throughout: the phase has `LIMIT - SEEN_KEYS`
/// slots per resource, fewer than the seen keys, whatever the machine's speed.
fn budget_run(flags: &[&str], tmp: &std::path::Path) -> (Value, String) {
    let page = tmp.join("report.html");
    let out = bare_command()
        .args(flags)
        .args(["--json", "demo", "--budget-spent"])
        .args(["--workers", &WORKERS.to_string()])
        .args(["--requests", &REQUESTS.to_string()])
        .args(["--limit", &LIMIT.to_string(), "--window", "1m", "--report"])
        .arg(&page)
        .env("TMPDIR", tmp)
        .output()
        .expect("run cvstore demo");
    ok(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        report,
        std::fs::read_to_string(&page).expect("the report file"),
    )
}

/// `answers[field]` as a number.
fn n(answers: &Value, field: &str) -> u64 {
    answers[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} in {answers}"))
}

/// The kinds add up to `requests`, the reasons to `stale`.
fn assert_adds_up(answers: &Value) {
    let kinds: u64 = KINDS.iter().map(|k| n(answers, k)).sum();
    assert_eq!(kinds, n(answers, "requests"), "{answers}");
    let reasons: u64 = REASONS.iter().map(|k| n(answers, k)).sum();
    assert_eq!(reasons, n(answers, "stale"), "{answers}");
}

/// The relations every run of the phase keeps, stale serving on or off.
fn assert_run(run: &Value) {
    assert_eq!(run["violations"], 0, "{run}");
    let (seen, new) = (&run["answers_seen"], &run["answers_never_seen"]);
    assert_adds_up(seen);
    assert_adds_up(new);
    assert_eq!(
        n(seen, "requests") + n(new, "requests"),
        WORKERS * REQUESTS,
        "{run}"
    );
    let per: Vec<&Value> = RESOURCES
        .iter()
        .map(|r| &run["answers_per_resource"][r])
        .collect();
    per.iter().for_each(|a| assert_adds_up(a));
    for kind in KINDS {
        let by_resource: u64 = per.iter().map(|a| n(a, kind)).sum();
        assert_eq!(by_resource, n(seen, kind) + n(new, kind), "{kind}: {run}");
    }
    // Never-seen keys are asked once each: nothing cached, nothing to join.
    assert_eq!(run["requests"], WORKERS * REQUESTS, "{run}");
    for kind in ["fresh", "revalidated", "stale", "joined"] {
        assert_eq!(n(new, kind), 0, "never-seen {kind}: {run}");
    }
    // The demand is above the limit: some never-seen keys find the budget spent.
    assert!(n(new, "failed") > 0, "{run}");
    // Every call the stub counted: the warm-up's one per seen key, then the phase's
    // (full, or conditional and answered 304).
    let calls: u64 = RESOURCES
        .iter()
        .map(|r| run["upstream_calls_per_resource"][r].as_u64().unwrap())
        .sum();
    let phase = n(seen, "upstream") + n(new, "upstream") + n(seen, "revalidated");
    assert_eq!(calls, SEEN_KEYS * 4 + phase, "{run}");
    // One window holds the run: no resource got more calls than the limit.
    for r in RESOURCES {
        let calls = run["upstream_calls_per_resource"][r].as_u64().unwrap();
        assert!((SEEN_KEYS..=LIMIT).contains(&calls), "{r}: {calls} calls");
    }
    assert_eq!(
        run["upstream_calls"],
        n(seen, "upstream") + n(new, "upstream")
    );
}

/// The value of the `data-kind="kind"` cell in `resource`'s answers table of `section`.
fn cell(section: &str, resource: &str, kind: &str) -> u64 {
    let table = &section[section
        .find(&format!(
            "<table class=\"answers\" data-resource=\"{resource}\">"
        ))
        .unwrap_or_else(|| panic!("{resource}'s answers table in {section}"))..];
    let needle = format!("data-kind=\"{kind}\">");
    let at = table.find(&needle).unwrap() + needle.len();
    table[at..at + table[at..].find('<').unwrap()]
        .parse()
        .unwrap()
}

/// The side-by-side report: both runs' relations, the stale one's goal met, the other's
/// failures, and the HTML page's per-resource answers equal to the JSON's.
fn assert_side_by_side(report: &Value, page: &str) {
    assert_eq!(report["phase"], "budget_spent", "{report}");
    assert_eq!(report["seen_keys_per_resource"], SEEN_KEYS, "{report}");
    let (off, on) = (&report["stale_off"], &report["stale_on"]);
    assert_run(off);
    assert_run(on);
    // Stale serving on: every request for a seen key is answered, some stale because the
    // budget is spent.
    assert_eq!(n(&on["answers_seen"], "failed"), 0, "{on}");
    assert!(n(&on["answers_seen"], "stale_if_rate_limited") > 0, "{on}");
    // Off: no stale answers, and requests for seen keys fail while the budget is spent.
    assert_eq!(n(&off["answers_seen"], "stale"), 0, "{off}");
    assert!(n(&off["answers_seen"], "failed") > 0, "{off}");
    // On, a seen key's owner calls with the stale entry's ETag: every such call is a 304,
    // revalidating the entry; off, the entry is gone at the end of its freshness.
    assert_eq!(n(&on["answers_seen"], "upstream"), 0, "{on}");
    assert_eq!(n(&on["answers_seen"], "revalidated"), n(on, "not_modified"));
    assert_eq!(n(on, "conditional_requests"), n(on, "not_modified"), "{on}");
    assert_eq!(n(off, "conditional_requests"), 0, "{off}");
    assert_eq!(n(&off["answers_seen"], "revalidated"), 0, "{off}");

    for external in ["<script", "<link", "src=", "http://", "https://"] {
        assert!(!page.contains(external), "self-contained: {external}");
    }
    let sections: Vec<&str> = page.split("<h2 class=\"run\">").skip(1).collect();
    assert_eq!(sections.len(), 2, "one section per run");
    for (section, (title, run)) in sections
        .iter()
        .zip([("stale serving off", off), ("stale serving on", on)])
    {
        assert!(section.starts_with(title), "{section}");
        for r in RESOURCES {
            let answers = &run["answers_per_resource"][r];
            for kind in [
                "stale",
                "stale_if_rate_limited",
                "revalidated",
                "failed",
                "upstream",
            ] {
                assert_eq!(
                    cell(section, r, kind),
                    n(answers, kind),
                    "{title} {r} {kind}"
                );
            }
        }
        let peaks: Vec<u64> = section
            .split("data-peak=\"")
            .skip(1)
            .map(|t| t[..t.find('"').unwrap()].parse().unwrap())
            .collect();
        assert_eq!(peaks.len(), 4, "{title}: a chart per resource");
        assert!(peaks.iter().all(|p| *p <= LIMIT), "{title}: {peaks:?}");
    }
    let stale_shown: u64 = RESOURCES
        .iter()
        .map(|r| cell(sections[1], r, "stale"))
        .sum();
    assert_eq!(stale_shown, n(&on["answers_seen"], "stale"));
}

#[test]
fn budget_spent_in_memory_answers_every_seen_key_with_stale_serving_on() {
    let tmp = tempfile::tempdir().unwrap();
    let (report, page) = budget_run(&[], tmp.path());
    assert_side_by_side(&report, &page);
    assert_eq!(report["stale_on"]["backend"], "in-memory (embedded)");
}

#[test]
fn budget_spent_on_sqlite_answers_every_seen_key_with_stale_serving_on() {
    let tmp = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", tmp.path().join("unused.db").display());
    let (report, page) = budget_run(&["--store", &store], tmp.path());
    assert_side_by_side(&report, &page);
    let backend = report["stale_on"]["backend"].as_str().unwrap();
    assert!(backend.starts_with("SQLite file") && backend.ends_with("4 OS processes"));
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["report.html"], "the runs' files are deleted");
}

#[test]
fn budget_spent_on_dynamodb_answers_every_seen_key_with_stale_serving_on() {
    let tmp = tempfile::tempdir().unwrap();
    let (report, page) = budget_run(&["--endpoint", endpoint()], tmp.path());
    assert_side_by_side(&report, &page);
    let backend = report["stale_on"]["backend"].as_str().unwrap();
    assert!(
        backend.starts_with("DynamoDB table `cvstore-demo-"),
        "{backend}"
    );
    assert!(backend.ends_with("(deleted), 4 OS processes"), "{backend}");
}

#[test]
fn budget_spent_with_one_stale_setting_reports_only_that_run() {
    let out = bare_command()
        .args(["--json", "demo", "--budget-spent", "--stale", "on"])
        .args(["--workers", "2", "--requests", "20", "--limit", "4"])
        .output()
        .unwrap();
    ok(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report.get("stale_off").is_none(), "{report}");
    assert_eq!(report["stale_on"]["answers_seen"]["failed"], 0, "{report}");
    assert_eq!(report["stale_on"]["requests"], 40, "{report}");
    let out = bare_command()
        .args(["demo", "--stale", "on"])
        .output()
        .unwrap();
    support::failed(&out, support::USAGE);
}

//! `cvstore bench`'s cost line against a real DynamoDB Local: its figure is the formula
//! applied to the unit rows it printed, and the mix and price flags move it.

mod support;

use serde_json::Value;
use support::*;

fn bench(extra: &[&str]) -> Value {
    let table = unique_table_name("cli-cost");
    let mut args = vec![
        "--json",
        "bench",
        // Long enough for several misses per row: one SDK retry of a slow request on a
        // loaded machine then moves the per-op mean by well under one request.
        "--duration",
        "600ms",
        "--rounds",
        "1",
        "--concurrency",
        "1",
    ];
    args.extend_from_slice(extra);
    json_out(&cvstore(&table, &args))
}

/// The cost recomputed from the report's own rows and flags.
fn recomputed(report: &Value) -> f64 {
    let cost = &report["cost"];
    let row = |name: &Value| {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["operation"] == *name && r["concurrency"] == cost["concurrency"])
            .unwrap_or_else(|| panic!("no row {name}: {report}"))
            .clone()
    };
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k}: {v}"));
    let (hit, miss) = (row(&cost["hit_row"]), row(&cost["miss_row"]));
    let (pw, pr, h) = (
        f(cost, "price_wru"),
        f(cost, "price_rru"),
        f(cost, "hit_ratio"),
    );
    let price =
        |r: &Value| f(r, "billed_read_units_per_op") * pr + f(r, "billed_write_units_per_op") * pw;
    h * price(&hit) + (1.0 - h) * price(&miss)
}

fn dollars(report: &Value) -> f64 {
    report["cost"]["dollars_per_million_requests"]
        .as_f64()
        .unwrap()
}

#[test]
fn the_cost_line_is_the_formula_over_the_printed_rows() {
    let report = bench(&[]);
    let cost = &report["cost"];
    assert_eq!(cost["hit_ratio"], 0.8);
    assert_eq!(cost["response_bytes"], 20 * 1024);
    assert_eq!(cost["price_wru"], 0.625);
    assert_eq!(cost["price_rru"], 0.125);
    assert_eq!(cost["prices_as_of"], "2024-11-01");
    assert_eq!(cost["miss_row"], "miss path 20 KB");
    assert!(
        (dollars(&report) - recomputed(&report)).abs() < 1e-9,
        "{cost}"
    );
    let miss = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["operation"] == "miss path 20 KB")
        .unwrap();
    // Get, register, acquire, the job's completion, the entry.
    assert_eq!(
        miss["requests_per_op"].as_f64().unwrap().round(),
        5.0,
        "{miss}"
    );
    // No transaction: billed as reported, and within the ≤ 8 WRU goal for a 20 KB
    // response (about 4.7 KB compressed: 5 for the entry, 1 each for the rest).
    let billed = miss["billed_write_units_per_op"].as_f64().unwrap();
    assert_eq!(
        billed,
        miss["write_units_per_op"].as_f64().unwrap(),
        "{miss}"
    );
    assert!(billed <= 8.0, "{miss}");
    assert!(dollars(&report) > 0.0);
    // The second figure: the eventual hit row at half the strong one's read units,
    // priced by the same formula with the same miss.
    let eventual = &cost["eventual_hits"];
    assert_eq!(eventual["hit_row"], "cache get (hit, eventual) 20 KB");
    let (strong_rru, eventual_rru) = (
        cost["hit"]["rru"].as_f64().unwrap(),
        eventual["hit"]["rru"].as_f64().unwrap(),
    );
    assert_eq!(eventual_rru * 2.0, strong_rru, "{cost}");
    let saved = 0.8 * (strong_rru - eventual_rru) * 0.125;
    let eventual_dollars = eventual["dollars_per_million_requests"].as_f64().unwrap();
    assert!(
        (dollars(&report) - eventual_dollars - saved).abs() < 1e-9,
        "{cost}"
    );
}

#[test]
fn the_mix_and_price_flags_move_the_cost_as_the_formula_says() {
    // All hits at free writes: only the hit's reads are priced.
    let hits = bench(&["--hit-ratio", "1", "--price-wru", "0", "--price-rru", "2"]);
    let hit_rru = hits["cost"]["hit"]["rru"].as_f64().unwrap();
    assert!(hit_rru > 0.0, "{hits}");
    assert!(
        (dollars(&hits) - 2.0 * hit_rru).abs() < 1e-9,
        "{}",
        hits["cost"]
    );
    // All misses of a 4 KB response, writes priced only.
    let misses = bench(&[
        "--hit-ratio",
        "0",
        "--response-size",
        "4KB",
        "--price-wru",
        "1",
        "--price-rru",
        "0",
    ]);
    assert_eq!(misses["cost"]["miss_row"], "miss path 4 KB");
    let miss_wru = misses["cost"]["miss"]["wru"].as_f64().unwrap();
    assert!(
        (dollars(&misses) - miss_wru).abs() < 1e-9,
        "{}",
        misses["cost"]
    );
    assert!((dollars(&misses) - recomputed(&misses)).abs() < 1e-9);
    // Register, acquire, the job's completion and the entry each write at least one
    // unit; the value is written once (a 4 KB response is one unit compressed).
    assert!((4.0..=5.0).contains(&miss_wru), "{}", misses["cost"]);
}

#[test]
fn a_ratio_out_of_range_is_refused_before_anything_runs() {
    let out = cvstore(
        &unique_table_name("cli-cost"),
        &["bench", "--hit-ratio", "1.5"],
    );
    assert_eq!(out.status.code(), Some(USAGE), "{}", stderr(&out));
    assert!(stderr(&out).contains("ratio"), "{}", stderr(&out));
    let out = cvstore(
        &unique_table_name("cli-cost"),
        &["bench", "--response-size", "20XB"],
    );
    assert_eq!(out.status.code(), Some(USAGE), "{}", stderr(&out));
}

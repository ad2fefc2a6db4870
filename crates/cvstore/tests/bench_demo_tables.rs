//! `bench` and `demo` against an endpoint write only into a table of their own (created
//! for the run, deleted afterwards unless `--keep`), or into the existing table named by
//! `--into-table`; never into the table the global `--table` names.

mod support;

use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::Select;
use comic_vine_dynamodb_store::local::DynamoDbLocal;
use support::*;

/// Items in `table`, or `None` if it does not exist.
fn items(table: &str) -> Option<usize> {
    let client = DynamoDbLocal::shared().unwrap().client();
    let table = table.to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let tables = client.list_tables().limit(100).send().await.unwrap();
        let mut names = tables.table_names().to_vec();
        let mut next = tables.last_evaluated_table_name().map(str::to_owned);
        while let Some(start) = next {
            let page = client
                .list_tables()
                .exclusive_start_table_name(start)
                .send()
                .await
                .unwrap();
            names.extend_from_slice(page.table_names());
            next = page.last_evaluated_table_name().map(str::to_owned);
        }
        if !names.contains(&table) {
            return None;
        }
        let scan = client
            .scan()
            .table_name(&table)
            .select(Select::Count)
            .send()
            .await
            .unwrap();
        Some(scan.count() as usize)
    })
}

const BENCH: [&str; 8] = [
    "--json",
    "bench",
    "--duration",
    "100ms",
    "--rounds",
    "1",
    "--concurrency",
    "1",
];

const DEMO: [&str; 10] = [
    "--json",
    "demo",
    "--workers",
    "2",
    "--requests",
    "4",
    "--limit",
    "5",
    "--window",
    "1s",
];

fn with(base: &[&str], extra: &[&str]) -> Vec<String> {
    base.iter().chain(extra).map(|s| (*s).to_owned()).collect()
}

fn run(table: &str, args: &[String]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cvstore(table, &args)
}

/// The table a `demo` report names in its backend line.
fn demo_table(report: &serde_json::Value) -> String {
    let backend = report["backend"].as_str().unwrap();
    let start = backend.find('`').unwrap() + 1;
    let len = backend[start..].find('`').unwrap();
    backend[start..start + len].to_owned()
}

#[test]
fn bench_leaves_the_named_table_alone_and_deletes_its_own() {
    let named = unique_table_name("cli-bench-named");
    let existing = created_table("cli-bench-existing");
    for (table, before) in [(&named, None), (&existing, Some(0))] {
        let out = run(table, &with(&BENCH, &[]));
        let report = json_out(&out);
        let own = report["table"].as_str().unwrap().to_owned();
        assert!(own.starts_with("cvstore-bench-"), "{report}");
        assert_eq!(report["table_kept"], false, "{report}");
        assert!(
            stderr(&out).contains(&format!("deleted table `{own}`")),
            "{}",
            stderr(&out)
        );
        assert_eq!(items(&own), None, "the bench table is gone");
        assert_eq!(items(table), before, "`--table {table}` untouched");
    }
}

#[test]
fn bench_keep_leaves_its_table_and_names_it() {
    let named = unique_table_name("cli-bench-keep");
    let out = run(&named, &with(&BENCH, &["--keep"]));
    let report = json_out(&out);
    let own = report["table"].as_str().unwrap().to_owned();
    assert_eq!(report["table_kept"], true, "{report}");
    assert!(
        stderr(&out).contains(&format!("kept table `{own}`")),
        "{}",
        stderr(&out)
    );
    assert!(
        items(&own).unwrap() > 0,
        "the kept table holds the bench's items"
    );
    assert_eq!(items(&named), None);
    ok(&cvstore(&own, &["table", "verify"]));
}

#[test]
fn bench_into_table_writes_into_that_existing_table_only() {
    let target = created_table("cli-bench-into");
    // A name of this test's own: the shared DynamoDB Local may hold a
    // `comic-vine-store` table made by another test or tool.
    let global = unique_table_name("cli-bench-global");
    let out = run(&global, &with(&BENCH, &["--into-table", &target]));
    let report = json_out(&out);
    assert_eq!(report["table"], target.as_str(), "{report}");
    assert!(items(&target).unwrap() > 0, "written into `{target}`");
    assert_eq!(items(&global), None, "the global --table is not created");

    let missing = unique_table_name("cli-bench-missing");
    let out = run("t-1", &with(&BENCH, &["--into-table", &missing]));
    let err = failed(&out, 1);
    assert!(
        err.contains(&format!("table `{missing}` does not exist")),
        "{err}"
    );
    assert_eq!(items(&missing), None, "--into-table never creates");
}

#[test]
fn demo_leaves_the_named_table_alone_and_deletes_its_own() {
    let existing = created_table("cli-demo-existing");
    let out = run(&existing, &with(&DEMO, &[]));
    let report = json_out(&out);
    assert_eq!(report["violations"], 0, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    let own = demo_table(&report);
    assert!(own.starts_with("cvstore-demo-"), "{report}");
    assert!(
        stderr(&out).contains(&format!("deleted table `{own}`")),
        "{}",
        stderr(&out)
    );
    assert_eq!(items(&own), None, "the demo table is gone");
    assert_eq!(items(&existing), Some(0), "`--table` untouched");
}

#[test]
fn demo_keep_and_into_table() {
    let named = unique_table_name("cli-demo-keep");
    let out = run(&named, &with(&DEMO, &["--keep"]));
    let own = demo_table(&json_out(&out));
    assert!(
        stderr(&out).contains(&format!("kept table `{own}`")),
        "{}",
        stderr(&out)
    );
    assert!(items(&own).unwrap() > 0);
    assert_eq!(items(&named), None);

    let target = created_table("cli-demo-into");
    let out = run(&named, &with(&DEMO, &["--into-table", &target]));
    let report = json_out(&out);
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(demo_table(&report), target);
    assert!(items(&target).unwrap() > 0, "written into `{target}`");
    assert_eq!(items(&named), None);
}

//! `cvstore bench`: runs [`crate::bench`] against the global endpoint, or against a
//! DynamoDB Local it starts (and stops) itself.

use anyhow::bail;
use serde_json::json;

use super::demo::scratch::RunTable;
use super::output;
use crate::bench::cost::{self, Mix};
use crate::bench::{self, BenchOptions};
use crate::cli::{BenchArgs, StoreArgs};

/// Runs the benchmark and prints its table (or JSON).
pub async fn run(args: BenchArgs, store: &StoreArgs, json: bool) -> anyhow::Result<()> {
    super::backend::dynamodb_only(store, "bench")?;
    if args.concurrency.is_empty() || args.concurrency.contains(&0) {
        bail!("--concurrency needs positive numbers, e.g. 1,32");
    }
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let mut store = store.clone();
    // Kept alive for the run; dropping it stops the server.
    let _server = super::demo::scratch::local_unless_endpoint(&mut store).await?;
    let run = RunTable::open("bench", &args.target, &store).await?;
    let options = BenchOptions {
        duration: args.duration,
        concurrency: args.concurrency.clone(),
        rounds: args.rounds,
        response_bytes: args.response_size,
    };
    let mix = Mix {
        hit_ratio: args.hit_ratio,
        response_bytes: args.response_size,
        price_wru: args.price_wru,
        price_rru: args.price_rru,
    };
    let rows = bench::run(&run.table, &options).await;
    let (table, kept) = (run.table.clone(), run.kept());
    let rows = run.finish(rows).await?;
    let compressed = bench::miss_path::compressed_len(&bench::miss_path::comic_vine_response(
        args.response_size,
    ));
    let cost = cost::report(&rows, mix, compressed)?;
    let machine = format!(
        "{} cores, {} {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    if json {
        output::pretty_json(&json!({
            "endpoint": table.config().endpoint(),
            "table": table.name(),
            "table_kept": kept,
            "machine": machine,
            "duration_ms": args.duration.as_millis() as u64,
            "rounds": args.rounds,
            "rows": rows,
            "cost": cost,
        }))
    } else {
        output::line(format_args!(
            "bench on {} table `{}`{} ({machine}), {:?} per measurement in {} rounds\n{}{}",
            table.config().endpoint().unwrap_or("AWS"),
            table.name(),
            if kept { "" } else { " (deleted)" },
            args.duration,
            args.rounds,
            bench::render(&rows),
            cost::render(&cost)
        ))
    }
}

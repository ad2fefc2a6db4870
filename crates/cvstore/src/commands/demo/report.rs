//! The demo's final report.

use std::collections::BTreeMap;
use std::time::Duration;

use derive_more::Add;
use serde::{Deserialize, Serialize};

use comic_vine_stub::StubApi;

use super::answers::Answers;
use super::fleet::{Outcome, ServedBy};
use crate::cli::DemoArgs;

/// What the workers add up to besides their outcomes; `+` adds field by field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, Add)]
pub struct Summary {
    /// Denials waited out.
    pub rate_limit_waits: u64,
    /// DynamoDB requests (0 in memory).
    pub dynamodb_requests: u64,
    /// Consumed read units.
    pub read_units: f64,
    /// Consumed write units.
    pub write_units: f64,
}

/// The report, printed as text or JSON.
#[derive(Debug, Serialize)]
pub struct Report {
    pub(super) backend: String,
    workers: usize,
    requests: u64,
    pub(super) failed: u64,
    cache_hits: u64,
    cache_hit_ratio: f64,
    dedupe_joins: u64,
    pub(super) upstream_calls: u64,
    pub(super) upstream_calls_per_resource: BTreeMap<String, usize>,
    /// Conditional calls the stub answered (`If-None-Match`).
    conditional_requests: u64,
    /// Of those, answered `304 Not Modified`.
    pub(super) not_modified: u64,
    /// Answers to requests for keys a warm-up cached (none without `--budget-spent`).
    pub(super) answers_seen: Answers,
    /// Answers to requests for keys not asked before.
    pub(super) answers_never_seen: Answers,
    /// Answers per resource.
    pub(super) answers_per_resource: BTreeMap<String, Answers>,
    rate_limit_waits: u64,
    pub(super) violations: u64,
    latency_mean_ms: f64,
    latency_p99_ms: f64,
    dynamodb_requests_per_request: Option<f64>,
    read_units_per_request: Option<f64>,
    write_units_per_request: Option<f64>,
    pub(super) elapsed_s: f64,
}

/// The answers of `outcomes` per resource.
fn per_resource(outcomes: &[Outcome]) -> BTreeMap<String, Answers> {
    let mut resources: Vec<&str> = outcomes.iter().map(|o| o.resource.as_str()).collect();
    resources.sort_unstable();
    resources.dedup();
    resources
        .into_iter()
        .map(|r| {
            let answers = Answers::of(outcomes.iter().filter(|o| o.resource == r));
            (r.to_owned(), answers)
        })
        .collect()
}

impl Report {
    /// Sums up a run.
    pub fn new(
        args: &DemoArgs,
        backend: String,
        outcomes: &[Outcome],
        summary: Summary,
        on_dynamodb: bool,
        api: &StubApi,
        elapsed: Duration,
    ) -> Self {
        let count = |s: ServedBy| {
            outcomes
                .iter()
                .filter(|o| o.served.as_ref().ok() == Some(&s))
                .count() as u64
        };
        let mut latencies: Vec<f64> = outcomes.iter().map(|o| o.ms).collect();
        latencies.sort_by(f64::total_cmp);
        let requests = outcomes.len() as u64;
        let per_request = |x: f64| on_dynamodb.then(|| x / requests.max(1) as f64);
        Self {
            backend,
            workers: args.workers,
            requests,
            failed: outcomes.iter().filter(|o| o.served.is_err()).count() as u64,
            cache_hits: count(ServedBy::Cache),
            cache_hit_ratio: count(ServedBy::Cache) as f64 / requests.max(1) as f64,
            dedupe_joins: count(ServedBy::DedupeJoin),
            upstream_calls: count(ServedBy::Upstream),
            upstream_calls_per_resource: api.calls_per_resource().into_iter().collect(),
            conditional_requests: api.conditional_requests(),
            not_modified: api.not_modified(),
            answers_seen: Answers::of(outcomes.iter().filter(|o| o.seen)),
            answers_never_seen: Answers::of(outcomes.iter().filter(|o| !o.seen)),
            answers_per_resource: per_resource(outcomes),
            rate_limit_waits: summary.rate_limit_waits,
            violations: api.violations(),
            latency_mean_ms: latencies.iter().sum::<f64>() / latencies.len().max(1) as f64,
            latency_p99_ms: latencies
                .get((latencies.len() * 99 / 100).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0.0),
            dynamodb_requests_per_request: per_request(summary.dynamodb_requests as f64),
            read_units_per_request: per_request(summary.read_units),
            write_units_per_request: per_request(summary.write_units),
            elapsed_s: elapsed.as_secs_f64(),
        }
    }

    /// Prints the report.
    pub fn print(&self, json_out: bool) -> anyhow::Result<()> {
        use crate::commands::output::line;
        if json_out {
            return crate::commands::output::pretty_json(self);
        }
        let r = self;
        line(format_args!(
            "demo report ({}, {} workers, {:.1} s)",
            r.backend, r.workers, r.elapsed_s
        ))?;
        line(format_args!(
            "  requests:         {} ({} failed)",
            r.requests, r.failed
        ))?;
        line(format_args!(
            "  cache hits:       {} ({:.1} %)",
            r.cache_hits,
            r.cache_hit_ratio * 100.0
        ))?;
        line(format_args!("  dedupe joins:     {}", r.dedupe_joins))?;
        let stale = r.answers_seen.stale + r.answers_never_seen.stale;
        if stale > 0 {
            line(format_args!("  stale answers:    {stale}"))?;
        }
        line(format_args!(
            "  upstream calls:   {}  {:?}",
            r.upstream_calls, r.upstream_calls_per_resource
        ))?;
        line(format_args!("  rate-limit waits: {}", r.rate_limit_waits))?;
        line(format_args!(
            "  latency:          mean {:.1} ms, p99 {:.1} ms",
            r.latency_mean_ms, r.latency_p99_ms
        ))?;
        if let (Some(req), Some(rcu), Some(wcu)) = (
            r.dynamodb_requests_per_request,
            r.read_units_per_request,
            r.write_units_per_request,
        ) {
            line(format_args!(
                "  DynamoDB:         {req:.2} requests, {rcu:.2} RCU, {wcu:.2} WCU per client request"
            ))?;
        }
        line(format_args!("  violations: {}", r.violations))
    }
}

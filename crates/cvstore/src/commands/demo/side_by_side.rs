//! `cvstore demo --budget-spent`: the phase's runs, stale serving off and on, side by
//! side (text), or both reports in one object (`--json`).

use serde::Serialize;

use super::answers::Answers;
use super::budget::seen_keys;
use super::report::Report;
use crate::cli::DemoArgs;

/// Picks a row's value out of a run's report.
type Pick<T> = fn(&Report) -> T;

/// The budget-spent phase's report: one [`Report`] per run.
#[derive(Debug, Serialize)]
pub struct BudgetReport {
    phase: &'static str,
    workers: usize,
    requests_per_worker: usize,
    limit: u32,
    window_ms: u128,
    seen_keys_per_resource: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    stale_off: Option<Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stale_on: Option<Report>,
}

impl BudgetReport {
    /// The report of the runs made (`stale_off`, `stale_on`).
    pub fn new(args: &DemoArgs, stale_off: Option<Report>, stale_on: Option<Report>) -> Self {
        Self {
            phase: "budget_spent",
            workers: args.workers,
            requests_per_worker: args.requests,
            limit: args.limit,
            window_ms: args.window.as_millis(),
            seen_keys_per_resource: seen_keys(args.limit),
            stale_off,
            stale_on,
        }
    }

    /// The runs made, with their column titles.
    pub fn runs(&self) -> Vec<(&'static str, &Report)> {
        let off = self.stale_off.as_ref().map(|r| ("stale serving off", r));
        let on = self.stale_on.as_ref().map(|r| ("stale serving on", r));
        off.into_iter().chain(on).collect()
    }

    /// Why the run missed its goal, if it did: upstream limit violations, or, with stale
    /// serving on, failed answers for seen keys.
    pub fn failure(&self) -> Option<String> {
        let violations: u64 = self.runs().iter().map(|(_, r)| r.violations).sum();
        let failed_seen = self.stale_on.as_ref().map_or(0, |r| r.answers_seen.failed);
        (violations > 0 || failed_seen > 0).then(|| {
            format!(
                "{violations} upstream limit violations, {failed_seen} failed answers for seen \
                 keys with stale serving on"
            )
        })
    }

    /// Prints the report: the runs' counts in columns, or JSON.
    pub fn print(&self, json_out: bool) -> anyhow::Result<()> {
        use crate::commands::output::line;
        if json_out {
            return crate::commands::output::pretty_json(self);
        }
        let runs = self.runs();
        line(format_args!(
            "budget-spent phase ({} workers × {} requests, limit {} per {} ms, {} seen keys \
             per resource)",
            self.workers,
            self.requests_per_worker,
            self.limit,
            self.window_ms,
            self.seen_keys_per_resource
        ))?;
        for (title, r) in &runs {
            line(format_args!("  {title}: {}", r.backend))?;
        }
        let mut head = format!("  {:<40}", "");
        for (title, _) in &runs {
            head.push_str(&format!("{:>12}", title.replace("serving ", "")));
        }
        line(format_args!("{}", head.trim_end()))?;
        let sections: [(&str, Pick<Answers>); 2] = [
            ("seen keys", |r| r.answers_seen.clone()),
            ("never-seen keys", |r| r.answers_never_seen.clone()),
        ];
        for (name, answers) in sections {
            let rows = runs
                .iter()
                .map(|(_, r)| answers(r).rows())
                .collect::<Vec<_>>();
            for (i, (kind, _)) in rows.first().into_iter().flatten().enumerate() {
                let label = if i == 0 { name } else { "" };
                let mut text = format!("  {label:<16}{kind:<24}");
                for row in &rows {
                    text.push_str(&format!("{:>12}", row[i].1));
                }
                line(format_args!("{text}"))?;
            }
        }
        let figures: [(&str, Pick<String>); 4] = [
            ("upstream calls in the phase", |r| {
                (r.upstream_calls + r.not_modified).to_string()
            }),
            ("of which 304 Not Modified", |r| r.not_modified.to_string()),
            ("violations", |r| r.violations.to_string()),
            ("elapsed", |r| format!("{:.1} s", r.elapsed_s)),
        ];
        for (name, figure) in figures {
            let mut text = format!("  {name:<40}");
            for (_, r) in &runs {
                text.push_str(&format!("{:>12}", figure(r)));
            }
            line(format_args!("{text}"))?;
        }
        Ok(())
    }
}

//! `cvstore demo --report FILE`: the run as one self-contained HTML page (inline CSS and
//! SVG, no script, nothing fetched): per resource, the calls the stub counted in its
//! window at each call against its limit line, and the report's figures (the same
//! values `--json` prints).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use comic_vine_stub::StubCall;
use serde_json::Value;

/// A chart's width and height.
const W: f64 = 760.0;
const H: f64 = 220.0;
/// Margins: left, right, top, bottom.
const L: f64 = 44.0;
const R: f64 = 14.0;
const T: f64 = 12.0;
const B: f64 = 26.0;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;color:#1d2330;margin:24px;\
background:#f6f7f9}h1{font-size:20px}h2{font-size:15px;margin:22px 0 6px}\
table{border-collapse:collapse;background:#fff;border:1px solid #d9dde3}\
th,td{padding:4px 12px;border-bottom:1px solid #d9dde3;text-align:left}\
td.figure{text-align:right;font-variant-numeric:tabular-nums}\
svg{background:#fff;border:1px solid #d9dde3;display:block}.note{color:#667085}";

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A figure as its JSON text (strings without quotes).
fn raw(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// A figure as shown: floats to three decimals.
fn shown(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => format!("{:.3}", n.as_f64().unwrap_or(0.0)),
        Value::Null => "–".to_owned(),
        _ => raw(v),
    }
}

/// `value` under `key` as `(key, leaf)` pairs, nested objects' keys as `outer.inner`.
fn flatten<'a>(key: String, value: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match value.as_object() {
        Some(inner) => {
            for (k, v) in inner {
                flatten(format!("{key}.{k}"), v, out);
            }
        }
        None => out.push((key, value)),
    }
}

/// The figure rows of `report` (a `--json` report), nested objects as `outer.inner`.
fn figures(report: &Value) -> String {
    let mut rows = String::new();
    let Some(fields) = report.as_object() else {
        return rows;
    };
    let mut flat = Vec::new();
    for (key, value) in fields {
        flatten(key.clone(), value, &mut flat);
    }
    for (k, v) in flat {
        let _ = writeln!(
            rows,
            "<tr><th>{k}</th><td class=\"figure\" data-key=\"{k}\" data-value=\"{}\">{}</td></tr>",
            esc(&raw(v)),
            esc(&shown(v)),
            k = esc(&k),
        );
    }
    rows
}

/// One resource's chart: its calls' in-window counts over `span`, under `limit`.
fn chart(resource: &str, calls: &[&StubCall], limit: usize, span: Duration) -> String {
    let span_ms = span.as_secs_f64().max(0.001) * 1e3;
    let peak = calls.iter().map(|c| c.in_window).max().unwrap_or(0);
    let y_max = (limit.max(peak).max(1) as f64) * 1.15;
    let x = |at: Duration| L + (at.as_secs_f64() * 1e3 / span_ms) * (W - L - R);
    let y = |v: usize| T + (1.0 - v as f64 / y_max) * (H - T - B);
    let mut svg = format!(
        "<svg class=\"resource-chart\" data-resource=\"{r}\" data-calls=\"{n}\" data-peak=\"{peak}\" \
         width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" \
         aria-label=\"calls to {r} in the stub's window against its limit\">\n",
        r = esc(resource),
        n = calls.len(),
    );
    for i in 0..=4 {
        let v = limit * i / 4;
        let _ = writeln!(
            svg,
            "<line x1=\"{L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eceff3\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\" fill=\"#667085\">{v}</text>",
            W - R,
            L - 6.0,
            y(v) + 4.0,
            y = y(v),
        );
    }
    for i in 0..=4 {
        let at = span.mul_f64(f64::from(i) / 4.0);
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#667085\">{:.1} s</text>",
            x(at),
            H - 8.0,
            at.as_secs_f64(),
        );
    }
    let ly = y(limit);
    let _ = writeln!(
        svg,
        "<line class=\"limit-line\" data-limit=\"{limit}\" x1=\"{L}\" x2=\"{}\" y1=\"{ly:.1}\" \
         y2=\"{ly:.1}\" stroke=\"#c0392b\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\
         <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\" fill=\"#c0392b\">limit {limit}</text>",
        W - R,
        W - R - 4.0,
        ly - 5.0,
    );
    let points: Vec<String> = calls
        .iter()
        .map(|c| format!("{:.1},{:.1}", x(c.at), y(c.in_window)))
        .collect();
    let _ = writeln!(
        svg,
        "<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"#3a7bd5\" \
         stroke-width=\"1.5\" stroke-linejoin=\"round\"/>\n</svg>",
        points.join(" ")
    );
    svg
}

/// One run on the page.
pub(super) struct Section {
    /// Its heading (none when empty).
    pub title: String,
    /// Its `--json` report.
    pub report: Value,
    /// The stub's log.
    pub calls: Vec<StubCall>,
    /// How long it took.
    pub elapsed: Duration,
}

/// The table of one resource's answers (`answers`: a report's `Answers` object).
fn answers_table(resource: &str, answers: &Value) -> String {
    let Some(kinds) = answers.as_object() else {
        return String::new();
    };
    let mut head = String::new();
    let mut cells = String::new();
    for (kind, n) in kinds {
        let _ = write!(head, "<th>{}</th>", esc(kind));
        let _ = write!(
            cells,
            "<td class=\"figure\" data-kind=\"{k}\">{}</td>",
            esc(&raw(n)),
            k = esc(kind)
        );
    }
    format!(
        "<table class=\"answers\" data-resource=\"{}\"><tr>{head}</tr><tr>{cells}</tr></table>\n",
        esc(resource)
    )
}

/// The page of `sections` (one per run), each charted against `limit` per `window`.
pub(super) fn render(sections: &[Section], limit: usize, window: Duration) -> String {
    let mut body = String::new();
    for s in sections {
        if !s.title.is_empty() {
            let _ = writeln!(body, "<h2 class=\"run\">{}</h2>", esc(&s.title));
        }
        body.push_str(&render_run(&s.report, &s.calls, limit, s.elapsed));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>cvstore demo report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>cvstore demo report</h1>\n<p class=\"note\">Each chart: the calls the stub \
         Comic Vine API counted for the resource in its window ({window} ms) at every call, \
         against its limit ({limit} per window, the dashed red line). A point above the \
         line would be a call answered 420. Under it, who answered the resource's requests \
         (fresh, revalidated, stale by reason, joined, upstream, failed).</p>\n{body}\
         </body>\n</html>\n",
        window = window.as_millis(),
    )
}

/// The charts and figures of one run: `report` is the `--json` report, `calls` the
/// stub's log.
fn render_run(report: &Value, calls: &[StubCall], limit: usize, elapsed: Duration) -> String {
    let mut resources: Vec<&str> = calls.iter().map(|c| c.resource.as_str()).collect();
    if let Some(per) = report["upstream_calls_per_resource"].as_object() {
        resources.extend(per.keys().map(String::as_str));
    }
    resources.sort_unstable();
    resources.dedup();
    let span = calls
        .iter()
        .map(|c| c.at)
        .max()
        .unwrap_or_default()
        .max(elapsed);
    let mut charts = String::new();
    for r in &resources {
        let mine: Vec<&StubCall> = calls.iter().filter(|c| c.resource == *r).collect();
        let peak = mine.iter().map(|c| c.in_window).max().unwrap_or(0);
        let _ = write!(
            charts,
            "<h2>{}</h2>\n<p class=\"note\">{} calls, at most {peak} in one window \
             (limit {limit})</p>\n{}{}",
            esc(r),
            mine.len(),
            chart(r, &mine, limit, span),
            answers_table(r, &report["answers_per_resource"][*r]),
        );
    }
    format!(
        "{charts}<h2>Figures</h2>\n<table id=\"figures\">\n{}</table>\n",
        figures(report)
    )
}

/// Writes the page to `path`.
pub(super) fn write(path: &Path, page: &str) -> anyhow::Result<()> {
    std::fs::write(path, page).with_context(|| format!("writing the report {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_at_the_limit_is_drawn_on_the_limit_line() {
        let call = |at, n| StubCall {
            resource: "issues".into(),
            at: Duration::from_millis(at),
            in_window: n,
        };
        let calls = [call(0, 1), call(500, 2)];
        let section = Section {
            title: String::new(),
            report: serde_json::json!({"requests": 3, "backend": "a<b", "per": {"x": 0.5},
                "answers_per_resource": {"issues": {"stale": 4}}}),
            calls: calls.to_vec(),
            elapsed: Duration::from_secs(1),
        };
        let page = render(&[section], 2, Duration::from_secs(1));
        let ly = format!("{:.1}", T + (1.0 - 2.0 / 2.3) * (H - T - B));
        assert!(page.contains(&format!("y1=\"{ly}\"")), "{page}");
        assert!(page.contains(&format!("{:.1},{ly}\"", L + (W - L - R) / 2.0)));
        assert!(page.contains("data-key=\"backend\" data-value=\"a&lt;b\""));
        assert!(page.contains("data-key=\"per.x\" data-value=\"0.5\">0.500<"));
        assert!(page.contains("data-key=\"answers_per_resource.issues.stale\" data-value=\"4\""));
        assert!(page.contains("<table class=\"answers\" data-resource=\"issues\">"));
        assert!(page.contains("<td class=\"figure\" data-kind=\"stale\">4</td>"));
        assert!(!page.contains("<script") && !page.contains("http"));
    }
}

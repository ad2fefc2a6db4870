//! The JSON documents of `/api/overview`, `/api/ratelimits`, `/api/cache` and
//! `/api/dedupe`. Times are
//! milliseconds since the Unix epoch; a store that fails is reported in an `error`
//! field next to the data of the others.

use comic_vine_store::{AdaptiveStatus, CacheStats, JobState, RateLimitStatus, Timestamp};
use serde_json::{Value, json};

use crate::State;
use crate::history::{now, sample_of};
use crate::known::JobView;
use crate::source::ResourceId;

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn cache_json(stats: Result<Option<CacheStats>, String>) -> Value {
    match stats {
        Ok(Some(s)) => json!({
            "available": true,
            "entries": s.entries,
            "expired_entries": s.expired_entries,
            "approximate_bytes": s.approximate_bytes,
            "orphan_chunks": s.orphan_chunks,
            "orphan_bytes": s.orphan_bytes,
            "unresourced_entries": s.unresourced_entries,
        }),
        Ok(None) => json!({"available": false}),
        Err(e) => json!({"available": true, "error": e}),
    }
}

/// Why a source shows no per-resource counts.
const NO_BREAKDOWN: &str = "this cache store cannot list its entries by resource (or \
    holds only entries cached before keys carried their resource), and this dashboard \
    knows no request keys: counting entries per resource would need a full scan of the \
    store";

/// Entries listed per resource unless the request asks (`?limit=N`).
pub(crate) const DEFAULT_LIST_LIMIT: usize = 20;
/// The most entries listed per resource.
pub(crate) const MAX_LIST_LIMIT: usize = 500;

/// The `limit` of a query string (`limit=N`, clamped to 1..=[`MAX_LIST_LIMIT`]).
pub(crate) fn list_limit(query: Option<&str>) -> usize {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("limit=")?.parse::<usize>().ok())
        .map_or(DEFAULT_LIST_LIMIT, |n| n.clamp(1, MAX_LIST_LIMIT))
}

/// `/api/cache`: the totals, and `by_resource` as far as the source can tell (each
/// resource's first `limit` entries listed when the store lists them).
pub(crate) async fn cache(state: &State, limit: usize) -> Value {
    let stats = state.source.cache_stats().await.map_err(|e| e.to_string());
    let total = stats.as_ref().ok().and_then(|s| s.map(|s| s.entries));
    let mut doc = cache_json(stats);
    doc["now"] = json!(now().as_millis());
    doc["by_resource"] = match state.source.cache_by_resource(limit).await {
        Ok(Some(b)) => {
            let counted: u64 = b.resources.iter().map(|r| r.entries).sum();
            json!({
                "available": true,
                "basis": b.basis,
                "keys_checked": b.keys_checked,
                "limit": limit,
                "resources": b.resources,
                // Entries the rows do not count: under keys the dashboard does not know
                // (or without a resource), and expired ones.
                "other_entries": total.map(|t| t.saturating_sub(counted)),
            })
        }
        Ok(None) => json!({"available": false, "reason": NO_BREAKDOWN}),
        Err(e) => json!({"available": true, "error": e.to_string()}),
    };
    doc
}

/// `/api/dedupe`: the jobs the source knows of, pending ones first.
pub(crate) async fn dedupe(state: &State) -> Value {
    let at = now();
    let mut doc = json!({"now": at.as_millis()});
    match state.source.dedupe_jobs().await {
        Ok(Some(view)) => {
            let pending = view
                .jobs
                .iter()
                .filter(|j| j.info.state == JobState::Pending)
                .count();
            doc["available"] = json!(true);
            doc["keys_checked"] = json!(view.keys_checked);
            doc["pending"] = json!(pending);
            doc["finished"] = json!(view.jobs.len() - pending);
            doc["jobs"] = view.jobs.iter().map(|j| job_json(j, at)).collect();
        }
        Ok(None) => doc["available"] = json!(false),
        Err(e) => {
            doc["available"] = json!(true);
            doc["error"] = json!(e.to_string());
        }
    }
    doc
}

fn job_json(j: &JobView, at: Timestamp) -> Value {
    let i = &j.info;
    let pending = i.state == JobState::Pending;
    json!({
        "key": j.key,
        "resource": j.resource,
        "job_id": i.job_id,
        "state": i.state,
        "created_at": i.created_at.as_millis(),
        "age_ms": at.as_millis().saturating_sub(i.created_at.as_millis()),
        "lease_until": i.lease_until.as_millis(),
        "lease_left_ms": pending.then(|| i.lease_until.as_millis().saturating_sub(at.as_millis())),
        "lease_expired": pending && i.lease_until <= at,
        "finished_at": i.finished_at.map(|t| t.as_millis()),
        "error": i.error,
    })
}

/// `/api/overview`.
pub(crate) async fn overview(state: &State) -> Value {
    let stats = state.source.cache_stats().await.map_err(|e| e.to_string());
    let rows = state.source.resources();
    let mut names: Vec<&str> = rows.iter().map(|r| r.resource.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    json!({
        "now": now().as_millis(),
        "cache": cache_json(stats),
        "circuit": state.source.circuit().map(|c| json!({
            "state": c.state,
            "failures": c.failures,
            "next_attempt": c.next_attempt.map(|t| t.as_millis()),
        })),
        "usage": state.source.usage(),
        "resources": names.len(),
        "rate_limit_rows": rows.len(),
        "writes_allowed": state.allow_writes,
        "sample_interval_ms": millis(state.options.sample_interval),
        "history_ms": millis(state.options.history),
    })
}

fn adaptive_json(a: &AdaptiveStatus) -> Value {
    json!({
        "user_reserved": a.user_reserved,
        "background_max": a.background_max,
        "background_paused": a.background_paused,
        "recent_user_activity": a.recent_user_activity,
        "trend": a.trend,
        "reason": a.reason,
        "calculated_at": a.calculated_at.as_millis(),
    })
}

async fn row(state: &State, id: &ResourceId) -> Value {
    let mut doc = json!({"resource": id.resource, "limiter": id.limiter});
    let status: Result<RateLimitStatus, _> = state.source.rate_limit_status(id).await;
    let at = now();
    match status {
        Ok(s) => {
            // The freshest point too, so the chart ends at the values in the table.
            state.history.push(id, sample_of(&s, at));
            doc["limit"] = json!(s.limit);
            doc["remaining"] = json!(s.remaining);
            doc["used"] = json!(s.limit.saturating_sub(s.remaining));
            doc["window_ms"] = json!(millis(s.window));
            doc["reset_at"] = json!(s.reset_at.as_millis());
            doc["cooldown_until"] = json!(s.cooldown_until.map(|t| t.as_millis()));
            doc["adaptive"] = s.adaptive.as_ref().map_or(Value::Null, adaptive_json);
        }
        Err(e) => doc["error"] = json!(e.to_string()),
    }
    let samples = match state.source.grant_history(id).await {
        Ok(Some(samples)) => samples,
        Ok(None) => state.history.samples(id),
        Err(e) => {
            doc["history_error"] = json!(e.to_string());
            state.history.samples(id)
        }
    };
    let since = at.as_millis().saturating_sub(millis(state.options.history));
    doc["history"] = samples
        .iter()
        .filter(|s| s.at.as_millis() >= since)
        .map(|s| json!([s.at.as_millis(), s.used]))
        .collect();
    doc
}

/// `/api/ratelimits`.
pub(crate) async fn rate_limits(state: &State) -> Value {
    let ids = state.source.resources();
    let rows = futures_rows(state, &ids).await;
    json!({
        "now": now().as_millis(),
        "history_ms": millis(state.options.history),
        "resources": rows,
    })
}

async fn futures_rows(state: &State, ids: &[ResourceId]) -> Vec<Value> {
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        rows.push(row(state, id).await);
    }
    rows
}

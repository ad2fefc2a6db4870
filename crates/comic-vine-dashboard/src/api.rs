//! The JSON documents of `/api/overview`, `/api/ratelimits` and `/api/cache`. Times are
//! milliseconds since the Unix epoch; a store that fails is reported in an `error`
//! field next to the data of the others.

use comic_vine_store::{AdaptiveStatus, CacheStats, RateLimitStatus};
use serde_json::{Value, json};

use crate::State;
use crate::history::{now, sample_of};
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
        }),
        Ok(None) => json!({"available": false}),
        Err(e) => json!({"available": true, "error": e}),
    }
}

/// `/api/cache`.
pub(crate) async fn cache(state: &State) -> Value {
    let stats = state.source.cache_stats().await.map_err(|e| e.to_string());
    let mut doc = cache_json(stats);
    doc["now"] = json!(now().as_millis());
    doc
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

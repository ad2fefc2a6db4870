//! `/api/cache/entry?key=K`: the cache view's search, one entry with its times.

use comic_vine_store::StoreError;
use comic_vine_store::cache::{decode_resource, key_resource};
use http::StatusCode;
use serde_json::{Value, json};

use crate::State;
use crate::history::now;

/// The value of `name` in a URL query, percent-decoded.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The entry under `key`: 200 with its resource, times, age, freshness and JSON size;
/// 404 when there is none. A missing key is an `InvalidInput` error, as is one the
/// store refuses.
pub(crate) async fn cache_entry(
    state: &State,
    key: Option<&str>,
) -> Result<(StatusCode, Value), StoreError> {
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return Err(StoreError::invalid_input(
            "key",
            "is required: /api/cache/entry?key=<resource>/<hash>",
        ));
    };
    let at = now();
    Ok(match state.source.cache_entry(key).await? {
        Some(entry) => {
            let bytes = serde_json::to_vec(&entry.value).map_or(0, |v| v.len());
            (
                StatusCode::OK,
                json!({
                    "found": true,
                    "key": key,
                    "resource": key_resource(key).map(decode_resource),
                    "stored_at": entry.stored_at.as_millis(),
                    "fresh_until": entry.fresh_until.as_millis(),
                    "expires_at": entry.stale_until.as_millis(),
                    "age_ms": u64::try_from(entry.age(at).as_millis()).unwrap_or(u64::MAX),
                    "fresh": entry.is_fresh(at),
                    "json_bytes": bytes,
                }),
            )
        }
        None => (StatusCode::NOT_FOUND, json!({"found": false, "key": key})),
    })
}

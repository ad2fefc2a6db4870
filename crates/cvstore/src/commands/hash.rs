//! `cvstore hash`.

use comic_vine_store::hash::{canonical_request, hash_request};
use serde_json::Value;

use super::output;
use crate::failure::UsageError;

/// Prints the request hash of `endpoint` with the parameters `params_json` (an object).
pub fn run(endpoint: &str, params_json: &str, json: bool) -> anyhow::Result<()> {
    let params: Value = serde_json::from_str(params_json)
        .map_err(|e| UsageError(format!("PARAMS_JSON is not valid JSON ({e})")))?;
    if !params.is_object() {
        return Err(UsageError(
            "PARAMS_JSON must be a JSON object, e.g. '{\"limit\":10}'".to_owned(),
        )
        .into());
    }
    let hash = hash_request(endpoint, &params);
    if json {
        output::json(&serde_json::json!({
            "hash": hash,
            "canonical": canonical_request(endpoint, &params),
        }))
    } else {
        output::line(hash)
    }
}

//! `cvstore hash`.

use anyhow::Context;
use comic_vine_store::hash::{canonical_request, hash_request};

pub fn run(endpoint: &str, params: &str, json: bool) -> anyhow::Result<()> {
    let params: serde_json::Value =
        serde_json::from_str(params).context("PARAMS_JSON is not valid JSON")?;
    let hash = hash_request(endpoint, &params);
    if json {
        let out = serde_json::json!({
            "hash": hash,
            "canonical": canonical_request(endpoint, &params),
        });
        println!("{out}");
    } else {
        println!("{hash}");
    }
    Ok(())
}

//! How the raw baselines encode a value: as the stores do (its JSON, zstd level 3 when
//! that is smaller, with one compression context per thread, reused), so that both sides
//! of a ratio send the same bytes after the same work.

use std::cell::RefCell;

use serde_json::Value;
use zstd::bulk::Compressor;

thread_local! {
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
}

/// `value` encoded: its encoding's stored name (`zstd` or `json`), its JSON length and
/// the payload.
pub(crate) fn encode(value: &Value) -> (&'static str, usize, Vec<u8>) {
    let json = serde_json::to_vec(value).unwrap_or_default();
    let compressed = COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match &mut *slot {
            Some(c) => c,
            empty => empty.insert(Compressor::new(3).ok()?),
        };
        compressor.compress(&json).ok()
    });
    match compressed {
        Some(z) if z.len() < json.len() => ("zstd", json.len(), z),
        _ => ("json", json.len(), json),
    }
}

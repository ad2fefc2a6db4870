//! Checks of caller-supplied keys, done before any I/O.

use crate::error::{StoreError, StoreResult};

/// The longest request hash or cache key accepted, in bytes.
///
/// DynamoDB allows 2048 bytes of partition key; the store's prefixes and a
/// safety margin leave 1024 for the caller's part.
pub const MAX_KEY_BYTES: usize = 1024;

/// The longest resource name accepted, in bytes.
pub const MAX_RESOURCE_BYTES: usize = 256;

/// Validates a request hash / cache key: non-empty, at most [`MAX_KEY_BYTES`], no
/// control characters.
pub fn key(field: &'static str, value: &str) -> StoreResult<()> {
    text(field, value, MAX_KEY_BYTES)
}

/// Validates a rate-limit resource name: like [`key`], and at most
/// [`MAX_RESOURCE_BYTES`].
pub fn resource(value: &str) -> StoreResult<()> {
    text("resource", value, MAX_RESOURCE_BYTES)
}

fn text(field: &'static str, value: &str, max: usize) -> StoreResult<()> {
    if value.is_empty() {
        return Err(StoreError::invalid_input(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(StoreError::invalid_input(
            field,
            format!("is {} bytes long; at most {max} allowed", value.len()),
        ));
    }
    if let Some((at, c)) = value.char_indices().find(|(_, c)| c.is_control()) {
        return Err(StoreError::invalid_input(
            field,
            format!("contains control character {:?} at byte {at}", c),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(r: StoreResult<()>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn rejects_empty_long_and_control_characters() {
        assert_eq!(reason(key("hash", "")), "invalid hash: must not be empty");
        assert!(reason(key("hash", &"a".repeat(1025))).contains("1025 bytes"));
        assert!(reason(key("hash", "ab\ncd")).contains("'\\n' at byte 2"));
        assert!(reason(resource("is\u{7f}sues")).contains("control character"));
        assert!(reason(resource(&"r".repeat(257))).contains("at most 256"));
    }

    #[test]
    fn accepts_ordinary_keys() {
        key("hash", &"a".repeat(1024)).unwrap();
        key("hash", "issues/4000-1?filter=name:日本").unwrap();
        resource("issues").unwrap();
    }
}

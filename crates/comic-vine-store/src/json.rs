//! Exact JSON values: what [`serde_json::Value`] holds exactly, and [`RawJson`] for
//! everything else.
//!
//! Cache stores encode values with serde_json (the DynamoDB backend: JSON bytes, then
//! zstd), so a value comes back exactly when its type's JSON round trip is exact.
//!
//! [`serde_json::Value`] (this workspace builds serde_json with `float_roundtrip`):
//! - every finite `f64` exactly: it is written as the shortest text that parses back to
//!   the same bits, and any decimal text parses to the correctly rounded `f64`;
//! - integers exactly while they fit `i64` or `u64` (−2^63 ..= 2^64 − 1); beyond that an
//!   integer becomes the nearest `f64`, which is lossy (`123456789012345678901234567890`
//!   reads back as `1.2345678901234568e29`);
//! - numbers beyond the `f64` range (`1e400`) and strings with lone surrogates
//!   (`"\ud800"`) are rejected, as is nesting deeper than serde_json's recursion limit of
//!   128 (at most 127 arrays or objects inside one another parse);
//! - the text's formatting is not kept: key order becomes sorted, `1.0` reads back as
//!   `1.0` but `1E2` as `100.0`, escapes are re-encoded, whitespace is dropped.
//!
//! [`RawJson`] keeps the JSON text itself, so every valid JSON text round-trips byte for
//! byte through every [`CacheStore<RawJson>`](crate::CacheStore): big integers, exponent
//! forms, key order, duplicate keys, escapes (lone surrogates included), any nesting
//! depth. Use it when the exact text matters (for example when the bytes are passed on
//! or hashed); convert to a [`Value`] with [`RawJson::to_value`] when you need to look
//! inside.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::StoreError;

/// A JSON text kept verbatim: serializes as exactly that text and deserializes by
/// capturing exactly the text of the value read.
///
/// Leading and trailing whitespace is not part of a value and is dropped when parsing;
/// everything between (inner whitespace, key order, number forms, escapes) is kept.
///
/// ```
/// use comic_vine_store::RawJson;
///
/// let text = r#"{"id": 123456789012345678901234567890, "x": 0.41817215137075947}"#;
/// let raw: RawJson = text.parse()?;
/// assert_eq!(raw.as_str(), text);
/// // As a value inside another document it is written verbatim, too.
/// let doc = serde_json::to_string(&vec![raw.clone()])?;
/// assert_eq!(doc, format!("[{text}]"));
/// // Not every JSON text is a `serde_json::Value` exactly; the big integer is rounded.
/// assert_eq!(raw.to_value()?["id"], serde_json::json!(1.2345678901234568e29));
/// // Invalid text is refused with the position of the problem.
/// let err = "[1,]".parse::<RawJson>().unwrap_err();
/// assert_eq!((err.line(), err.column()), (1, 4));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

/// Why a text is not a [`RawJson`], or a [`RawJson`] not a [`Value`].
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct JsonError {
    what: &'static str,
    #[source]
    source: serde_json::Error,
}

impl JsonError {
    fn new(what: &'static str, source: serde_json::Error) -> Self {
        Self { what, source }
    }

    /// The line (from 1) where the problem was found, 0 if not tied to a position.
    pub fn line(&self) -> usize {
        self.source.line()
    }

    /// The column (from 1) where the problem was found, 0 if not tied to a position.
    pub fn column(&self) -> usize {
        self.source.column()
    }
}

impl From<JsonError> for StoreError {
    fn from(e: JsonError) -> Self {
        StoreError::from(e.source)
    }
}

impl RawJson {
    /// Parses and validates `text` (any valid JSON text, of any depth).
    pub fn from_string(text: String) -> Result<Self, JsonError> {
        RawValue::from_string(text)
            .map(Self)
            .map_err(|e| JsonError::new("not valid JSON text", e))
    }

    /// The JSON text of `value` as serde_json writes it.
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Self, JsonError> {
        serde_json::value::to_raw_value(value)
            .map(Self)
            .map_err(|e| JsonError::new("value cannot be written as JSON", e))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The JSON text, owned.
    pub fn into_string(self) -> String {
        String::from(Box::<str>::from(self.0))
    }

    /// The text parsed as a [`Value`], with the limits the [module docs](self) list
    /// (integers beyond 64 bits become `f64`; out-of-range numbers, lone surrogates and
    /// nesting past the recursion limit are errors).
    pub fn to_value(&self) -> Result<Value, JsonError> {
        serde_json::from_str(self.as_str())
            .map_err(|e| JsonError::new("JSON text is not a serde_json::Value", e))
    }
}

impl FromStr for RawJson {
    type Err = JsonError;

    fn from_str(text: &str) -> Result<Self, JsonError> {
        Self::from_string(text.to_owned())
    }
}

impl TryFrom<String> for RawJson {
    type Error = JsonError;

    fn try_from(text: String) -> Result<Self, JsonError> {
        Self::from_string(text)
    }
}

impl TryFrom<&str> for RawJson {
    type Error = JsonError;

    fn try_from(text: &str) -> Result<Self, JsonError> {
        text.parse()
    }
}

impl TryFrom<&RawJson> for Value {
    type Error = JsonError;

    fn try_from(raw: &RawJson) -> Result<Self, JsonError> {
        raw.to_value()
    }
}

impl TryFrom<RawJson> for Value {
    type Error = JsonError;

    fn try_from(raw: RawJson) -> Result<Self, JsonError> {
        raw.to_value()
    }
}

impl From<RawJson> for String {
    fn from(raw: RawJson) -> Self {
        raw.into_string()
    }
}

impl AsRef<str> for RawJson {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Equal when the texts are equal byte for byte (`1.0` and `1` differ).
impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RawJson {}

impl std::hash::Hash for RawJson {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawJson").field(&self.as_str()).finish()
    }
}

/// The JSON text, verbatim.
impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn keeps_text_verbatim() {
        for text in [
            "123456789012345678901234567890",
            "-18446744073709551617",
            "1E+400",
            "-0",
            "0.41817215137075947000",
            r#"{"b": 1,  "a": [1.0, 1e2], "b": "\ud800\u00e9\/"}"#,
            r#""😀\ud83d\ude00""#,
        ] {
            let raw: RawJson = text.parse().unwrap();
            assert_eq!(raw.as_str(), text);
            assert_eq!(raw.to_string(), text);
            let written = serde_json::to_vec(&raw).unwrap();
            assert_eq!(written, text.as_bytes());
            let back: RawJson = serde_json::from_slice(&written).unwrap();
            assert_eq!(back, raw);
            assert_eq!(back.clone().into_string(), text);
        }
    }

    #[test]
    fn outer_whitespace_is_not_part_of_the_value() {
        let raw: RawJson = " \n[1, 2]\t".parse().unwrap();
        assert_eq!(raw.as_str(), "[1, 2]");
    }

    #[test]
    fn invalid_text_is_a_typed_error() {
        for (text, line, column) in [("", 1, 0), ("[1,]", 1, 4), ("{\"a\":1}x", 1, 8)] {
            let err = text.parse::<RawJson>().unwrap_err();
            assert_eq!((err.line(), err.column()), (line, column), "{text:?}");
            assert!(err.to_string().starts_with("not valid JSON text"), "{err}");
            let store: StoreError = err.into();
            assert_eq!(store.kind(), "serialization");
            assert!(std::error::Error::source(&store).is_some(), "cause kept");
        }
        assert!(RawJson::try_from("nul".to_owned()).is_err());
    }

    #[test]
    fn values_limits_are_as_documented() {
        // f64 exactly (float_roundtrip): the 17-digit text parses to the right bits.
        let raw: RawJson = "0.41817215137075947".parse().unwrap();
        let v = raw.to_value().unwrap();
        assert_eq!(
            v.as_f64().unwrap().to_bits(),
            0.41817215137075947_f64.to_bits()
        );
        // Integers within u64/i64 exactly, beyond them an f64.
        let v: Value = RawJson::try_from("[18446744073709551615,-9223372036854775808]")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(v[0].as_u64(), Some(u64::MAX));
        assert_eq!(v[1].as_i64(), Some(i64::MIN));
        let v = RawJson::try_from("18446744073709551616")
            .unwrap()
            .to_value()
            .unwrap();
        assert!(v.is_f64());
        // Rejected: out of range, lone surrogate, nesting at the recursion limit.
        for text in ["1e400".to_owned(), r#""\udc00""#.to_owned(), nested(128)] {
            let raw = RawJson::from_string(text).unwrap();
            let err = raw.to_value().unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("JSON text is not a serde_json::Value")
            );
        }
        assert!(
            RawJson::from_string(nested(127))
                .unwrap()
                .to_value()
                .is_ok()
        );
        assert!(RawJson::from_string(nested(10_000)).is_ok());
    }

    #[test]
    fn deserializes_from_a_value_too() {
        let raw: RawJson = serde_json::from_value(serde_json::json!({"a": [1, 2.5]})).unwrap();
        assert_eq!(raw.as_str(), r#"{"a":[1,2.5]}"#);
    }

    #[test]
    fn from_serialize_writes_serde_json_text() {
        let raw = RawJson::from_serialize(&serde_json::json!({"b": 0.1, "a": [u64::MAX]})).unwrap();
        assert_eq!(raw.as_str(), r#"{"a":[18446744073709551615],"b":0.1}"#);
    }
}

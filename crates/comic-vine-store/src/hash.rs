//! Request hashing compatible with the TypeScript client.
//!
//! The hash is the SHA-256 (lower-case hex) of the JSON text of
//! `{"endpoint": …, "params": …}` after normalisation:
//! - object keys are sorted at every depth, in the order JavaScript's
//!   `Object.keys(o).sort()` produces and an object rebuilt from them iterates
//!   (array-index keys such as `"2"` first in numeric order, then the rest by UTF-16
//!   code units);
//! - numbers and booleans become strings, numbers formatted exactly as JavaScript's
//!   `Number.prototype.toString` formats them (via [`ryu_js`]);
//! - `null` stays `null`; arrays keep their order;
//! - a `"__proto__"` key is dropped at every depth (the TypeScript client assigns
//!   `sorted[key] = value` on a plain object, where that key sets the prototype instead
//!   of adding a property, so `JSON.stringify` never sees it).
//!
//! Numbers are read as the `f64` JavaScript's `JSON.parse` makes of them: integers
//! beyond 2^53 are rounded to the nearest `f64` (`12345678901234567891` hashes as
//! `"12345678901234567000"`), and serde_json is built with `float_roundtrip` so every
//! decimal text parses to the correctly rounded `f64`, as in JavaScript. Two inputs
//! JavaScript accepts cannot reach this function, because a [`Value`] cannot hold them:
//! numbers beyond the `f64` range (JavaScript hashes `1e400` as `"Infinity"`) and strings
//! with lone surrogates (`"\ud800"`).
//!
//! Both clients therefore address the same cache entries and dedupe jobs in one table.

use std::cmp::Ordering;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Hashes one API request (endpoint and parameters) to its lower-case hex SHA-256 key.
///
/// ```
/// use comic_vine_store::hash_request;
/// use serde_json::json;
///
/// let a = hash_request("issues/retrieve", &json!({"id": 1}));
/// let b = hash_request("issues/retrieve", &json!({"id": "1"}));
/// assert_eq!(a, b);
/// assert_eq!(a, "096cecaa26fbf9b0bd455131d5166403fb2df40fb54b9098a0ff111d375b3d52");
/// ```
pub fn hash_request(endpoint: &str, params: &Value) -> String {
    let text = canonical_request(endpoint, params);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The exact JSON text [`hash_request`] hashes (useful when comparing with another client).
pub fn canonical_request(endpoint: &str, params: &Value) -> String {
    let mut request = Map::new();
    request.insert("endpoint".to_owned(), Value::String(endpoint.to_owned()));
    request.insert("params".to_owned(), normalize(params));
    let mut out = String::with_capacity(128);
    write_json(&Value::Object(request), &mut out);
    out
}

/// The key JavaScript's `obj[key] = value` treats as the prototype setter: the
/// TypeScript client builds each sorted object that way, so it never holds this key.
const PROTO: &str = "__proto__";

fn normalize(value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(js_number_string(n)),
        Value::String(s) => Value::String(s.clone()),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != PROTO)
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
    }
}

/// Formats a JSON number the way JavaScript prints the `f64` it parses to.
fn js_number_string(n: &serde_json::Number) -> String {
    let f = n.as_f64().unwrap_or(f64::NAN);
    let mut buf = ryu_js::Buffer::new();
    buf.format(f).to_owned()
}

/// Serialises like `JSON.stringify` would iterate a JavaScript object built from the
/// sorted keys.
fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| js_property_order(a, b));
            write_list(out, ('{', '}'), keys, |key, out| {
                write_string(key, out);
                out.push(':');
                write_json(&map[key.as_str()], out);
            });
        }
        Value::Array(items) => write_list(out, ('[', ']'), items, write_json),
        Value::String(s) => write_string(s, out),
        other => out.push_str(&other.to_string()),
    }
}

/// Writes `items` with `write`, comma-separated, between the `brackets`.
fn write_list<T>(
    out: &mut String,
    brackets: (char, char),
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(T, &mut String),
) {
    out.push(brackets.0);
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(item, out);
    }
    out.push(brackets.1);
}

fn write_string(s: &str, out: &mut String) {
    // serde_json escapes exactly what JSON.stringify escapes for valid UTF-8 text.
    out.push_str(&Value::String(s.to_owned()).to_string());
}

/// Property order of a JavaScript object whose keys were inserted in
/// `Array.prototype.sort` order: array indices first (numerically), then the other
/// keys by UTF-16 code units.
fn js_property_order(a: &str, b: &str) -> Ordering {
    match (array_index(a), array_index(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.encode_utf16().cmp(b.encode_utf16()),
    }
}

/// A canonical array index (`"0"`, `"17"`, not `"017"`), below 2^32 - 1.
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    if !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|&i| i != u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(endpoint: &str, params: &str, expected: &str) {
        let params: Value = serde_json::from_str(params).unwrap();
        assert_eq!(
            hash_request(endpoint, &params),
            expected,
            "canonical text: {}",
            canonical_request(endpoint, &params)
        );
    }

    #[test]
    fn matches_typescript_client_vectors() {
        check(
            "issues/retrieve",
            r#"{"id":1}"#,
            "096cecaa26fbf9b0bd455131d5166403fb2df40fb54b9098a0ff111d375b3d52",
        );
        check(
            "issues/retrieve",
            r#"{"id":"1"}"#,
            "096cecaa26fbf9b0bd455131d5166403fb2df40fb54b9098a0ff111d375b3d52",
        );
        check(
            "issues/list",
            "{}",
            "d3237edcf886f7ecc879f7546c97e3bc3c325df4c3f4cf83e644fb10f32b6886",
        );
        check(
            "characters/list",
            r#"{"filter":{"name":"Batman"},"sort":{"field":"date_added","direction":"desc"},"limit":10,"offset":0,"fieldList":["id","name"]}"#,
            "e28634084eced6aaf104acd5fd2c112539535e5c1e19cec28e0bc1e758d2a6c9",
        );
        check(
            "search",
            r#"{"query":"Spider-Man: Into the Spider-Verse","resources":["issue","volume"],"exact":true,"page":2.5,"big":12345678901234567890,"tiny":0.000001}"#,
            "08ee65624796df66e2d5bc2796f17e5402d580a2066e28864032091c3272fc66",
        );
        check(
            "volumes/retrieve",
            r#"{"id":796,"name":null,"tags":["é","日本",""],"nested":{"z":[{"b":false,"a":null}],"a":{}}}"#,
            "e41a2d8fadc73acdff55fcab8064c8551e694f022d4b6f9241078246871fd705",
        );
    }

    #[test]
    fn numbers_print_like_javascript() {
        let text = canonical_request(
            "x",
            &json!({"a": 12345678901234567890_u64, "b": 1e21, "c": 0.000001, "d": 1e-7, "e": -0.0, "f": 100}),
        );
        assert_eq!(
            text,
            r#"{"endpoint":"x","params":{"a":"12345678901234567000","b":"1e+21","c":"0.000001","d":"1e-7","e":"0","f":"100"}}"#
        );
    }

    #[test]
    fn key_order_follows_javascript_objects() {
        // Array-index keys come first, numerically; "01" is not an index.
        let text = canonical_request(
            "x",
            &json!({"b": 1, "10": 1, "9": 1, "01": 1, "a": {"y": true, "x": false}}),
        );
        assert_eq!(
            text,
            r#"{"endpoint":"x","params":{"9":"1","10":"1","01":"1","a":{"x":"false","y":"true"},"b":"1"}}"#
        );
        // UTF-16 order: U+FF5E sorts after U+1F600 (a surrogate pair starting 0xD83D).
        assert_eq!(
            js_property_order("\u{ff5e}", "\u{1f600}"),
            Ordering::Greater
        );
    }

    #[test]
    fn seventeen_digit_floats_hash_like_javascript() {
        // JavaScript: String(JSON.parse("0.41817215137075947")) === "0.41817215137075947".
        let params: Value = serde_json::from_str(r#"{"x":0.41817215137075947}"#).unwrap();
        assert_eq!(
            canonical_request("x", &params),
            r#"{"endpoint":"x","params":{"x":"0.41817215137075947"}}"#
        );
    }

    #[test]
    fn number_texts_hash_as_javascript_reads_them() {
        // Expected texts from node: String(JSON.parse(text)) for each number.
        let params: Value = serde_json::from_str(
            r#"{"a":-0,"b":1e21,"c":5e-324,"d":123456789012345678901234567890,
                "e":18446744073709551616,"f":-1e-400,"g":2.4703282292062328e-324,
                "h":9007199254740993}"#,
        )
        .unwrap();
        assert_eq!(
            canonical_request("x", &params),
            r#"{"endpoint":"x","params":{"a":"0","b":"1e+21","c":"5e-324","d":"1.2345678901234568e+29","e":"18446744073709552000","f":"0","g":"5e-324","h":"9007199254740992"}}"#
        );
    }

    #[test]
    fn only_array_indices_sort_numerically() {
        // From node: 4294967295 (2^32 - 1) is not an array index, nor are "-1" and "01".
        let params: Value = serde_json::from_str(
            r#"{"4294967295":1,"4294967294":1,"b":1,"01":1,"9007199254740993":1,"1":1,"-1":1,"":1}"#,
        )
        .unwrap();
        assert_eq!(
            canonical_request("x", &params),
            r#"{"endpoint":"x","params":{"1":"1","4294967294":"1","":"1","-1":"1","01":"1","4294967295":"1","9007199254740993":"1","b":"1"}}"#
        );
    }

    #[test]
    fn proto_keys_are_dropped_like_javascript() {
        // The TypeScript client assigns `sorted[key] = value` on a plain object, so a
        // `__proto__` key sets the prototype (or is ignored) and never reaches the text.
        let params: Value =
            serde_json::from_str(r#"{"__proto__":{"a":1},"b":{"__proto__":"x","c":null}}"#)
                .unwrap();
        assert_eq!(
            canonical_request("x", &params),
            r#"{"endpoint":"x","params":{"b":{"c":null}}}"#
        );
    }

    #[test]
    fn arrays_keep_order_and_differ() {
        let a = hash_request("x", &json!({"ids": [1, 2]}));
        let b = hash_request("x", &json!({"ids": [2, 1]}));
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}

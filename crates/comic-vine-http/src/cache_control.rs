//! Reading `Cache-Control` (RFC 9111 §5.2) and delta-seconds (§1.2.2), strictly: a value
//! the rules cannot read is reported, never guessed.

use std::time::Duration;

use http::HeaderMap;
use http::header::CACHE_CONTROL;

/// The largest delta-seconds kept (2^31 s, about 68 years): RFC 9111 §1.2.2 says a
/// larger value, or one whose arithmetic overflows, counts as this.
pub(crate) const MAX_DELTA_SECONDS: u64 = 1 << 31;

/// The response directives the freshness rules use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Directives {
    pub no_store: bool,
    pub no_cache: bool,
    pub private: bool,
    pub public: bool,
    pub must_revalidate: bool,
    pub proxy_revalidate: bool,
    pub max_age: Option<Duration>,
    pub s_maxage: Option<Duration>,
    pub stale_while_revalidate: Option<Duration>,
    pub stale_if_error: Option<Duration>,
}

/// Why a `Cache-Control` field could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Unreadable {
    /// Not visible ASCII.
    #[error("Cache-Control is not visible ASCII")]
    NotAscii,
    /// A directive the rules use has a value that is not delta-seconds.
    #[error("Cache-Control `{0}` has an invalid value")]
    BadValue(&'static str),
    /// A directive the rules use is given twice with different values.
    #[error("Cache-Control `{0}` is given twice with different values")]
    Conflict(&'static str),
}

/// Reads delta-seconds: one or more digits; over [`MAX_DELTA_SECONDS`] counts as it.
pub(crate) fn delta_seconds(s: &str) -> Option<Duration> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs = s
        .parse::<u64>()
        .map_or(MAX_DELTA_SECONDS, |n| n.min(MAX_DELTA_SECONDS));
    Some(Duration::from_secs(secs))
}

/// The directives of every `Cache-Control` field line of `headers` (names compared
/// without regard to case, unknown directives ignored, quoted values accepted).
pub(crate) fn parse(headers: &HeaderMap) -> Result<Directives, Unreadable> {
    let mut raw: Vec<(String, Option<String>)> = Vec::new();
    for line in headers.get_all(CACHE_CONTROL) {
        let line = line.to_str().map_err(|_| Unreadable::NotAscii)?;
        for item in split_list(line) {
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => (n.trim(), Some(unquote(v.trim()))),
                None => (item.trim(), None),
            };
            if !name.is_empty() {
                raw.push((name.to_ascii_lowercase(), value));
            }
        }
    }
    let mut d = Directives::default();
    let flag = |name: &str| raw.iter().any(|(n, _)| n == name);
    d.no_store = flag("no-store");
    // A qualified `no-cache="field"` / `private="field"` is taken as unqualified: safer.
    d.no_cache = flag("no-cache");
    d.private = flag("private");
    d.public = flag("public");
    d.must_revalidate = flag("must-revalidate");
    d.proxy_revalidate = flag("proxy-revalidate");
    d.max_age = seconds(&raw, "max-age")?;
    d.s_maxage = seconds(&raw, "s-maxage")?;
    d.stale_while_revalidate = seconds(&raw, "stale-while-revalidate")?;
    d.stale_if_error = seconds(&raw, "stale-if-error")?;
    Ok(d)
}

/// The one delta-seconds value of directive `name`, if given.
fn seconds(
    raw: &[(String, Option<String>)],
    name: &'static str,
) -> Result<Option<Duration>, Unreadable> {
    let mut found = None;
    for (_, value) in raw.iter().filter(|(n, _)| n == name) {
        let v = value
            .as_deref()
            .and_then(delta_seconds)
            .ok_or(Unreadable::BadValue(name))?;
        match found {
            Some(prev) if prev != v => return Err(Unreadable::Conflict(name)),
            _ => found = Some(v),
        }
    }
    Ok(found)
}

/// Splits a list on commas outside quoted strings.
fn split_list(line: &str) -> Vec<&str> {
    let (mut items, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&line[start..]);
    items
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => v.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(lines: &[&str]) -> Result<Directives, Unreadable> {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append(CACHE_CONTROL, l.parse().unwrap());
        }
        parse(&h)
    }

    #[test]
    fn reads_directives_across_lines_case_and_quotes() {
        let d = cc(&[
            "Max-Age=60, s-maxage=\"30\"",
            "no-cache, x-ext=\"a,b\", PRIVATE",
        ])
        .unwrap();
        assert_eq!(d.max_age, Some(Duration::from_secs(60)));
        assert_eq!(d.s_maxage, Some(Duration::from_secs(30)));
        assert!(d.no_cache && d.private && !d.no_store && !d.public);
        assert_eq!(cc(&[]).unwrap(), Directives::default());
    }

    #[test]
    fn delta_seconds_are_digits_and_huge_values_are_2_pow_31() {
        assert_eq!(delta_seconds("0"), Some(Duration::ZERO));
        assert_eq!(
            delta_seconds("999999999999"),
            Some(Duration::from_secs(MAX_DELTA_SECONDS))
        );
        assert_eq!(
            delta_seconds(&"9".repeat(40)),
            Some(Duration::from_secs(MAX_DELTA_SECONDS))
        );
        for bad in ["", "-1", "1.5", " 1", "1e3", "abc"] {
            assert_eq!(delta_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bad_and_conflicting_values_are_reported() {
        assert_eq!(cc(&["max-age=abc"]), Err(Unreadable::BadValue("max-age")));
        assert_eq!(cc(&["max-age"]), Err(Unreadable::BadValue("max-age")));
        assert_eq!(
            cc(&["max-age=5", "max-age=6"]),
            Err(Unreadable::Conflict("max-age"))
        );
        assert_eq!(
            cc(&["max-age=5, max-age=5"]).unwrap().max_age,
            Some(Duration::from_secs(5))
        );
        let mut h = HeaderMap::new();
        h.insert(
            CACHE_CONTROL,
            http::HeaderValue::from_bytes(b"max-age=\xff").unwrap(),
        );
        assert_eq!(parse(&h), Err(Unreadable::NotAscii));
        assert!(cc(&["=5, ,,, \"unterminated"]).is_ok());
    }
}

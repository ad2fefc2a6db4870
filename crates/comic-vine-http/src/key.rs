//! What identifies a GET request in the stores: its endpoint, its query without the
//! credentials, and the headers that change the answer.

use std::collections::BTreeMap;

use http::{HeaderMap, HeaderName, Uri};
use serde_json::{Map, Value};
use url::Url;

/// Query parameters that carry credentials, left out of the request key by default
/// (compared without regard to case): every key then shares one cache entry.
pub const DEFAULT_CREDENTIAL_PARAMS: &[&str] = &[
    "api_key",
    "apikey",
    "api-key",
    "key",
    "access_token",
    "token",
    "auth_token",
    "client_secret",
    "signature",
];

/// `uri` as a normalized absolute URL (lower-case scheme and host, no default port,
/// normalized percent-encoding), so that the same request has the same key whichever
/// client sent it; `None` for a URI that is not absolute `http` or `https`.
pub(crate) fn absolute_url(uri: &Uri) -> Option<Url> {
    let url = Url::parse(&uri.to_string()).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// The endpoint `hash_request` is given: `GET scheme://host[:port]/path`.
pub(crate) fn endpoint(url: &Url) -> String {
    format!("GET {}{}", url.origin().ascii_serialization(), url.path())
}

/// The params `hash_request` is given:
/// `{"query": {name: value}, "headers": {name: value}}`.
///
/// Query values are the decoded strings (a repeated name becomes an array of its values
/// in order), without the names in `credentials`; headers are those of `hashed` that
/// the request carries (lower-case names, repeated values joined with `, `).
pub(crate) fn params(
    url: &Url,
    headers: &HeaderMap,
    credentials: &[String],
    hashed: &[HeaderName],
) -> Value {
    let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in url.query_pairs() {
        if !credentials.iter().any(|c| c.eq_ignore_ascii_case(&name)) {
            query
                .entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
    }
    let query: Map<String, Value> = query
        .into_iter()
        .map(|(name, mut values)| {
            let value = if values.len() == 1 {
                Value::String(values.remove(0))
            } else {
                Value::Array(values.into_iter().map(Value::String).collect())
            };
            (name, value)
        })
        .collect();
    let headers: Map<String, Value> = hashed
        .iter()
        .filter_map(|name| {
            let values: Vec<String> = headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            (!values.is_empty())
                .then(|| (name.as_str().to_owned(), Value::String(values.join(", "))))
        })
        .collect();
    serde_json::json!({"query": query, "headers": headers})
}

/// The rate-limit resource of a URI: the first path segment after an optional `api`
/// segment (`/api/issues/?…` → `issues`, `/api/issue/4000-1/` → `issue`), or the host
/// when the path has none.
///
/// ```
/// use comic_vine_http::default_resource;
///
/// let uri = |s: &str| s.parse::<http::Uri>().unwrap();
/// assert_eq!(default_resource(&uri("https://comicvine.gamespot.com/api/issues/?limit=1")), "issues");
/// assert_eq!(default_resource(&uri("http://127.0.0.1:9/api/issue/4000-1/")), "issue");
/// assert_eq!(default_resource(&uri("http://example.com/")), "example.com");
/// ```
pub fn default_resource(uri: &Uri) -> String {
    let mut segments = uri.path().split('/').filter(|s| !s.is_empty()).peekable();
    if segments.peek() == Some(&"api") {
        segments.next();
    }
    segments
        .next()
        .map(str::to_owned)
        .or_else(|| uri.host().map(str::to_ascii_lowercase))
        .unwrap_or_else(|| "default".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{ACCEPT, AUTHORIZATION};
    use proptest::prelude::*;
    use serde_json::json;

    fn credentials() -> Vec<String> {
        DEFAULT_CREDENTIAL_PARAMS
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    }

    #[test]
    fn drops_credentials_decodes_and_groups_the_query() {
        let url = Url::parse(
            "http://h:81/api/search/?API_KEY=secret&query=spider%20man&field_list=id&field_list=name&format=json",
        )
        .unwrap();
        assert_eq!(endpoint(&url), "GET http://h:81/api/search/");
        assert_eq!(
            params(&url, &HeaderMap::new(), &credentials(), &[]),
            json!({"query": {"query": "spider man", "field_list": ["id", "name"], "format": "json"},
                   "headers": {}})
        );
    }

    #[test]
    fn includes_only_the_selected_headers() {
        let mut headers = HeaderMap::new();
        headers.append(ACCEPT, "application/json".parse().unwrap());
        headers.append(ACCEPT, "text/plain".parse().unwrap());
        headers.insert(AUTHORIZATION, "Bearer x".parse().unwrap());
        let url = Url::parse("https://h/a").unwrap();
        assert_eq!(endpoint(&url), "GET https://h/a", "default port left out");
        assert_eq!(
            params(&url, &headers, &[], &[ACCEPT]),
            json!({"query": {}, "headers": {"accept": "application/json, text/plain"}})
        );
    }

    #[test]
    fn normalizes_the_uri_and_refuses_relative_or_other_schemes() {
        let url = |s: &str| absolute_url(&s.parse().unwrap()).map(|u| endpoint(&u));
        assert_eq!(
            url("HTTP://Example.COM:80/api/issues/?a=1"),
            Some("GET http://example.com/api/issues/".to_owned())
        );
        assert_eq!(url("/api/issues/"), None);
        assert_eq!(url("ftp://h/x"), None);
    }

    /// A query parameter: name and value over a small alphabet with characters that
    /// need percent-encoding, so that collisions and encodings both happen.
    fn pair() -> impl Strategy<Value = (String, String)> {
        ("[a-c_]{1,3}", "[a-c &=%/+é]{0,4}")
    }

    fn encode(pairs: &[(String, String)]) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }

    proptest! {
        /// Reordering the parameters (keeping each name's values in order) and adding
        /// credential parameters with any values never changes the key; dropping a
        /// non-credential parameter always does.
        #[test]
        fn the_key_ignores_order_and_credentials_only(
            pairs in proptest::collection::vec(pair(), 1..6),
            secrets in proptest::collection::vec(("api_key|API_KEY|Token|sIgNaTuRe|access_token", "[a-z0-9]{0,8}"), 0..3),
            seed in any::<u64>(),
        ) {
            let key = |pairs: &[(String, String)]| {
                let uri: Uri = format!("http://h/api/x/?{}", encode(pairs)).parse().unwrap();
                params(&absolute_url(&uri).unwrap(), &HeaderMap::new(), &credentials(), &[])
            };
            let plain: Vec<_> = pairs.iter().filter(|(n, _)| !credentials().contains(n)).cloned().collect();
            // A stable shuffle by name: each name's values keep their order.
            let mut shuffled = plain.clone();
            shuffled.sort_by_key(|(n, _)| (seed ^ n.bytes().fold(0u64, |h, b| h.wrapping_mul(31) ^ u64::from(b))).rotate_left(7));
            shuffled.extend(secrets.iter().cloned());
            prop_assert_eq!(key(&plain), key(&shuffled));
            if plain.len() > 1 {
                prop_assert_ne!(key(&plain), key(&plain[1..]));
            }
        }
    }
}

//! What identifies a GET request in the stores: its endpoint, its query without the
//! credentials, and the headers that change the answer.

use std::collections::BTreeMap;

use http::{HeaderMap, HeaderName};
use reqwest::Url;
use serde_json::{Map, Value};

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

/// The rate-limit resource of a URL: the first path segment after an optional `api`
/// segment (`/api/issues/?…` → `issues`, `/api/issue/4000-1/` → `issue`), or the host
/// when the path has none.
///
/// ```
/// use comic_vine_reqwest::default_resource;
/// use reqwest::Url;
///
/// let url = |s| Url::parse(s).unwrap();
/// assert_eq!(default_resource(&url("https://comicvine.gamespot.com/api/issues/?limit=1")), "issues");
/// assert_eq!(default_resource(&url("http://127.0.0.1:9/api/issue/4000-1/")), "issue");
/// assert_eq!(default_resource(&url("http://example.com/")), "example.com");
/// ```
pub fn default_resource(url: &Url) -> String {
    let mut segments = url
        .path_segments()
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .peekable();
    if segments.peek() == Some(&"api") {
        segments.next();
    }
    segments
        .next()
        .map(str::to_owned)
        .or_else(|| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| "default".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{ACCEPT, AUTHORIZATION};
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
}

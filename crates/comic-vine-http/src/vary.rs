//! `Vary` (RFC 9111 §4.1): a stored answer is served only to requests whose varied
//! header values match those of the request that fetched it.

use http::HeaderMap;
use http::header::VARY;

use crate::CachedResponse;

impl CachedResponse {
    /// Records the values `request` had for the headers `response`'s `Vary` names (a
    /// name the request lacked is recorded as absent). `Vary: *` answers are not stored
    /// at all (see [`freshness`](crate::freshness())), so `*` is not recorded.
    #[must_use]
    pub fn record_vary(mut self, response: &HeaderMap, request: &HeaderMap) -> Self {
        self.vary = vary_names(response)
            .into_iter()
            .map(|name| {
                let value = request_value(request, &name);
                (name, value)
            })
            .collect();
        self
    }

    /// Whether this answer may be served to a request with `request` headers: every
    /// varied header has the recorded value (field lines joined with `", "`, surrounding
    /// whitespace ignored) or is absent as recorded.
    pub fn vary_matches(&self, request: &HeaderMap) -> bool {
        self.vary
            .iter()
            .all(|(name, value)| request_value(request, name).as_deref() == value.as_deref())
    }
}

/// The lower-case field names `response`'s `Vary` lines list, once each, without `*`.
pub(crate) fn vary_names(response: &HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for line in response.get_all(VARY) {
        let line = String::from_utf8_lossy(line.as_bytes());
        for name in line.split(',').map(str::trim) {
            let name = name.to_ascii_lowercase();
            if !name.is_empty() && name != "*" && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// `request`'s value of `name`: its lines trimmed and joined with `", "`.
pub(crate) fn request_value(request: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<String> = request
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::StatusCode;
    use proptest::prelude::*;

    use super::*;
    use crate::test_support::headers;

    fn stored(vary: &str, request: &[(&str, &str)]) -> CachedResponse {
        CachedResponse::new(StatusCode::OK, vec![], Bytes::new())
            .record_vary(&headers(&[("vary", vary)]), &headers(request))
    }

    #[test]
    fn serves_only_requests_whose_varied_headers_match() {
        let r = stored("Accept, accept-language", &[("accept", "application/json")]);
        assert_eq!(
            r.vary(),
            [
                ("accept".to_owned(), Some("application/json".to_owned())),
                ("accept-language".to_owned(), None)
            ]
        );
        assert!(r.vary_matches(&headers(&[("accept", " application/json ")])));
        assert!(!r.vary_matches(&headers(&[("accept", "text/html")])));
        assert!(!r.vary_matches(&HeaderMap::new()));
        assert!(!r.vary_matches(&headers(&[
            ("accept", "application/json"),
            ("accept-language", "fr")
        ])));
        let none = CachedResponse::new(StatusCode::OK, vec![], Bytes::new());
        assert!(none.vary_matches(&headers(&[("accept", "anything")])));
    }

    #[test]
    fn multiple_lines_and_star_and_duplicates() {
        let r = stored("accept, *, ACCEPT", &[("accept", "a"), ("accept", "b")]);
        assert_eq!(r.vary(), [("accept".to_owned(), Some("a, b".to_owned()))]);
        assert!(r.vary_matches(&headers(&[("accept", "a"), ("accept", "b")])));
        assert!(!r.vary_matches(&headers(&[("accept", "b"), ("accept", "a")])));
    }

    proptest! {
        #[test]
        fn the_fetching_request_always_matches(
            vary in proptest::collection::vec(any::<u8>(), 0..40),
            accept in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let mut response = HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_bytes(&vary) { response.insert(VARY, v); }
            let mut request = HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_bytes(&accept) { request.insert("accept", v); }
            let r = CachedResponse::new(StatusCode::OK, vec![], Bytes::new())
                .record_vary(&response, &request);
            prop_assert!(r.vary_matches(&request));
        }
    }
}

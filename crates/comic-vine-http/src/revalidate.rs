//! Validators (RFC 9110 §8.8, RFC 9111 §4.3): the conditional request for a stale
//! entry, and the entry refreshed by a `304 Not Modified` without a new body.

use std::time::SystemTime;

use http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, TRANSFER_ENCODING, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::CachedResponse;
use crate::cached::MAX_VALIDATOR_BYTES;
use crate::freshness::{Freshness, FreshnessRules, NotStored, freshness};

/// The stored entry refreshed by a `304`, and how long to keep it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotModified {
    /// The stored entry (its status and body) with the `304`'s headers merged in.
    pub response: CachedResponse,
    /// Its new freshness, from the merged headers; an error when it must not be stored
    /// again (serve `response` once, uncached).
    pub freshness: Result<Freshness, NotStored>,
}

/// Whether `d` is an HTTP date of at most [`MAX_VALIDATOR_BYTES`].
pub(crate) fn is_http_date(d: &str) -> bool {
    d.len() <= MAX_VALIDATOR_BYTES && httpdate::parse_http_date(d).is_ok()
}

/// Keeps `headers`' validators and `Cache-Control` in `r`: an `ETag` only if it is one
/// valid entity-tag of at most [`MAX_VALIDATOR_BYTES`], a `Last-Modified` only if it is
/// an HTTP date; anything else is left out with a debug log.
pub(crate) fn take_validators(r: &mut CachedResponse, headers: &HeaderMap) {
    r.etag = one(headers, &ETAG).filter(|e| {
        let ok = is_entity_tag(e);
        if !ok {
            tracing::debug!(len = e.len(), "not keeping an invalid or oversized ETag");
        }
        ok
    });
    r.last_modified = one(headers, &LAST_MODIFIED).filter(|d| {
        let ok = is_http_date(d);
        if !ok {
            tracing::debug!("not keeping an invalid Last-Modified");
        }
        ok
    });
    let cc: Vec<&str> = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    r.cache_control = (!cc.is_empty()).then(|| cc.join(", "));
}

/// The single text value of `name` (several different lines: none).
fn one(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.any(|v| v != first) {
        tracing::debug!(%name, "not keeping conflicting validators");
        return None;
    }
    first.to_str().ok().map(|s| s.trim().to_owned())
}

/// `[W/]"…"` with visible-ASCII content and no inner quote, at most
/// [`MAX_VALIDATOR_BYTES`].
pub(crate) fn is_entity_tag(e: &str) -> bool {
    let opaque = e.strip_prefix("W/").unwrap_or(e);
    e.len() <= MAX_VALIDATOR_BYTES
        && opaque.len() >= 2
        && opaque.starts_with('"')
        && opaque.ends_with('"')
        && opaque[1..opaque.len() - 1]
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b))
}

/// The headers that make a request for `stored` conditional: `If-None-Match` with its
/// `ETag` and `If-Modified-Since` with its `Last-Modified` (either or both; none without
/// validators).
pub fn revalidation_headers(stored: &CachedResponse) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in [
        (IF_NONE_MATCH, stored.etag()),
        (IF_MODIFIED_SINCE, stored.last_modified()),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
            h.insert(name, v);
        }
    }
    h
}

/// `stored` refreshed by a `304` with `not_modified`'s headers, for a request with
/// `request` headers, at `now`: its kept headers (`keep`) and validators replaced by the
/// `304`'s where it sends them (never the framing ones: `Content-Length`,
/// `Content-Encoding`, `Content-Range`, `Transfer-Encoding`), its freshness computed from
/// the merged headers, its body unchanged. A `304` naming another `ETag` than the
/// stored one does not validate it: the entry is returned as it was, not to be stored.
pub fn merge_not_modified(
    stored: &CachedResponse,
    not_modified: &http::response::Parts,
    request: &HeaderMap,
    rules: &FreshnessRules,
    keep: &[HeaderName],
    now: SystemTime,
) -> NotModified {
    let new = &not_modified.headers;
    if let (Some(old), Some(sent)) = (stored.etag(), one(new, &ETAG))
        && weak(old) != weak(&sent)
    {
        tracing::debug!("a 304 for another ETag than the stored one");
        return NotModified {
            response: stored.clone(),
            freshness: Err(NotStored::Unknown("the 304 names another ETag".into())),
        };
    }
    let framing = [
        CONTENT_LENGTH,
        CONTENT_ENCODING,
        CONTENT_RANGE,
        TRANSFER_ENCODING,
    ];
    let sent = |name: &str| !framing.iter().any(|f| f == name) && new.contains_key(name);
    let mut headers: Vec<(String, String)> = stored
        .headers()
        .iter()
        .filter(|(n, _)| !sent(n))
        .cloned()
        .collect();
    for name in keep.iter().filter(|n| sent(n.as_str())) {
        for v in new.get_all(name).iter().filter_map(|v| v.to_str().ok()) {
            headers.push((name.as_str().to_owned(), v.to_owned()));
        }
    }
    let mut merged = stored.stored_freshness_headers();
    for name in new.keys().filter(|n| !framing.contains(n)) {
        merged.remove(name);
    }
    for (name, value) in new.iter().filter(|(n, _)| !framing.contains(n)) {
        merged.append(name, value.clone());
    }
    let mut response = stored.clone();
    response.set_headers(headers);
    take_validators(&mut response, &merged);
    let vary_source = if new.contains_key(VARY) { new } else { &merged };
    let response = response.record_vary(vary_source, request);
    NotModified {
        freshness: freshness(rules, request, &merged, now),
        response,
    }
}

fn weak(etag: &str) -> &str {
    etag.strip_prefix("W/").unwrap_or(etag)
}

/// Whether a `304` with `not_modified` headers validates the entry the `conditional`
/// request headers were built from: it names no `ETag`, or (weakly) the one sent in
/// `If-None-Match`.
pub(crate) fn validates(conditional: &HeaderMap, not_modified: &HeaderMap) -> bool {
    match (one(conditional, &IF_NONE_MATCH), one(not_modified, &ETAG)) {
        (Some(sent), Some(got)) => weak(&sent) == weak(&got),
        _ => true,
    }
}

impl CachedResponse {
    /// The stored headers the freshness and validator rules read again after a `304`.
    fn stored_freshness_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        let mut put = |name: HeaderName, value: Option<&str>| {
            if let Some(v) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
                h.append(name, v);
            }
        };
        put(CACHE_CONTROL, self.cache_control());
        put(ETAG, self.etag());
        put(LAST_MODIFIED, self.last_modified());
        let vary: Vec<&str> = self.vary().iter().map(|(n, _)| n.as_str()).collect();
        put(VARY, (!vary.is_empty()).then(|| vary.join(", ")).as_deref());
        h
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use bytes::Bytes;
    use http::StatusCode;
    use http::header::CONTENT_TYPE;

    use super::*;
    use crate::test_support::headers;

    const LM: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    fn upstream(pairs: &[(&str, &str)]) -> CachedResponse {
        CachedResponse::from_upstream(
            StatusCode::OK,
            &headers(pairs),
            &[CONTENT_TYPE, ETAG, LAST_MODIFIED],
            Bytes::from_static(b"{\"v\":1}"),
        )
    }

    fn parts(pairs: &[(&str, &str)]) -> http::response::Parts {
        let mut r = http::Response::new(());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        *r.headers_mut() = headers(pairs);
        r.into_parts().0
    }

    #[test]
    fn keeps_valid_validators_and_builds_the_conditional_request() {
        let r = upstream(&[
            ("etag", "W/\"v1\""),
            ("last-modified", LM),
            ("cache-control", "max-age=60"),
        ]);
        assert_eq!((r.etag(), r.last_modified()), (Some("W/\"v1\""), Some(LM)));
        assert_eq!(r.cache_control(), Some("max-age=60"));
        let h = revalidation_headers(&r);
        assert_eq!(
            (
                h[IF_NONE_MATCH].to_str().unwrap(),
                h[IF_MODIFIED_SINCE].to_str().unwrap()
            ),
            ("W/\"v1\"", LM)
        );
        assert!(revalidation_headers(&upstream(&[])).is_empty());
    }

    #[test]
    fn leaves_out_invalid_oversized_and_conflicting_validators() {
        let huge = format!("\"{}\"", "a".repeat(10 * 1024));
        for bad in [
            vec![("etag", huge.as_str())],
            vec![("etag", "v1")],
            vec![("etag", "\"a\"b\"")],
            vec![("etag", "\"a\""), ("etag", "\"b\"")],
            vec![("last-modified", "yesterday")],
        ] {
            let r = upstream(&bad);
            assert_eq!((r.etag(), r.last_modified()), (None, None), "{bad:?}");
            assert!(revalidation_headers(&r).is_empty());
        }
    }

    #[test]
    fn a_304_refreshes_freshness_and_headers_and_keeps_the_body() {
        let stored = upstream(&[
            ("content-type", "application/json"),
            ("etag", "\"v1\""),
            ("cache-control", "max-age=60"),
            ("vary", "accept"),
        ])
        .record_vary(
            &headers(&[("vary", "accept")]),
            &headers(&[("accept", "a")]),
        );
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let m = merge_not_modified(
            &stored,
            &parts(&[
                ("cache-control", "max-age=120"),
                ("etag", "W/\"v1\""),
                ("content-length", "0"),
                ("content-type", "text/json"),
            ]),
            &headers(&[("accept", "a")]),
            &FreshnessRules::new(),
            &[CONTENT_TYPE, ETAG, LAST_MODIFIED],
            now,
        );
        assert_eq!(
            m.freshness.unwrap().fresh_for,
            Some(Duration::from_secs(120))
        );
        assert_eq!(m.response.body(), stored.body());
        assert_eq!(m.response.cache_control(), Some("max-age=120"));
        assert_eq!(m.response.etag(), Some("W/\"v1\""));
        assert_eq!(m.response.vary(), stored.vary());
        assert!(
            m.response
                .headers()
                .contains(&("content-type".into(), "text/json".into()))
        );
        assert!(
            !m.response
                .headers()
                .iter()
                .any(|(n, _)| n == "content-length")
        );

        // A 304 saying nothing keeps the stored Cache-Control.
        let quiet = merge_not_modified(
            &stored,
            &parts(&[]),
            &HeaderMap::new(),
            &FreshnessRules::new(),
            &[],
            now,
        );
        assert_eq!(
            quiet.freshness.unwrap().fresh_for,
            Some(Duration::from_secs(60))
        );
        assert_eq!(quiet.response.headers(), stored.headers());

        // A 304 that forbids storing: serve once, uncached.
        let nostore = merge_not_modified(
            &stored,
            &parts(&[("cache-control", "no-store")]),
            &HeaderMap::new(),
            &FreshnessRules::new(),
            &[],
            now,
        );
        assert_eq!(nostore.freshness, Err(NotStored::NoStore));
        assert_eq!(nostore.response.body(), stored.body());

        // A 304 for another representation validates nothing.
        let other = merge_not_modified(
            &stored,
            &parts(&[("etag", "\"v2\""), ("cache-control", "max-age=999")]),
            &HeaderMap::new(),
            &FreshnessRules::new(),
            &[],
            now,
        );
        assert!(matches!(other.freshness, Err(NotStored::Unknown(_))));
        assert_eq!(other.response, stored);
    }

    proptest::proptest! {
        #[test]
        fn hostile_validators_and_304s_never_panic(
            lines in proptest::collection::vec(
                (
                    proptest::sample::select(vec!["etag", "last-modified", "cache-control", "vary", "content-length", "age", "date"]),
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48),
                ),
                0..10,
            ),
        ) {
            let mut h = HeaderMap::new();
            for (name, value) in &lines {
                if let Ok(v) = HeaderValue::from_bytes(value) {
                    h.append(*name, v);
                }
            }
            let stored = CachedResponse::from_upstream(StatusCode::OK, &h, &[CONTENT_TYPE, ETAG], Bytes::new())
                .record_vary(&h, &h);
            let conditional = revalidation_headers(&stored);
            proptest::prop_assert!(conditional.len() <= 2);
            let mut r = http::Response::new(());
            *r.headers_mut() = h.clone();
            let parts = r.into_parts().0;
            let m = merge_not_modified(&stored, &parts, &h, &FreshnessRules::new(), &[CONTENT_TYPE, ETAG], UNIX_EPOCH);
            proptest::prop_assert_eq!(m.response.body(), stored.body());
            let json = serde_json::to_string(&m.response).unwrap();
            proptest::prop_assert_eq!(serde_json::from_str::<CachedResponse>(&json).unwrap(), m.response);
        }
    }
}

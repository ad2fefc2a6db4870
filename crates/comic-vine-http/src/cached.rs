//! [`CachedResponse`]: the part of a successful HTTP response the stores keep.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use crate::freshness::Freshness;
use crate::revalidate::{is_entity_tag, is_http_date};
use crate::served::{SERVED_BY_HEADER, Served, served_by_name};

/// A successful (2xx) response as the cache and dedupe stores keep it: the status, the
/// selected headers and the body.
///
/// Serialized as `{"status": 200, "headers": [["content-type", "…"]], "text": "…"}`: a
/// UTF-8 body as a JSON string (`text`), any other body as standard base64
/// (`base64`); the DynamoDB stores compress either with zstd. The revalidation state is
/// added only when present: `etag`, `last_modified`, `cache_control` (upstream's
/// `Cache-Control`, for the freshness after a `304`) and `vary` (the request header
/// values the answer varies on); entries stored before these fields read as having
/// none, except `etag`/`last-modified` found among their `headers`.
///
/// ```
/// use comic_vine_http::CachedResponse;
///
/// let response = CachedResponse::new(
///     http::StatusCode::OK,
///     vec![("content-type".to_owned(), "application/json".to_owned())],
///     r#"{"results":[]}"#.into(),
/// );
/// let json = serde_json::to_string(&response)?;
/// assert!(json.contains(r#""text":"{\"results\":[]}""#));
/// assert_eq!(serde_json::from_str::<CachedResponse>(&json)?, response);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Stored")]
pub struct CachedResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
    pub(crate) cache_control: Option<String>,
    pub(crate) vary: Vec<(String, Option<String>)>,
    pub(crate) freshness: Option<Freshness>,
}

/// The longest validator (`ETag`, `Last-Modified`) kept; a longer one is left out.
pub const MAX_VALIDATOR_BYTES: usize = 1024;

impl CachedResponse {
    /// A response with `status`, `headers` (name, value) and `body`.
    pub fn new(status: StatusCode, headers: Vec<(String, String)>, body: Bytes) -> Self {
        Self {
            status: status.as_u16(),
            headers,
            body,
            etag: None,
            last_modified: None,
            cache_control: None,
            vary: Vec::new(),
            freshness: None,
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK)
    }

    /// The kept headers, as (lower-case name, value).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The stored `ETag` (a valid entity-tag of at most [`MAX_VALIDATOR_BYTES`]).
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    /// The stored `Last-Modified` (a valid HTTP date).
    pub fn last_modified(&self) -> Option<&str> {
        self.last_modified.as_deref()
    }

    /// Upstream's `Cache-Control`, kept for the freshness after a `304`.
    pub fn cache_control(&self) -> Option<&str> {
        self.cache_control.as_deref()
    }

    /// Its RFC 9111 freshness as computed when it arrived (what the pipeline's
    /// [`HttpEntryPolicy`](crate::HttpEntryPolicy) stores it with); `None` for entries
    /// stored before it was kept, or built with [`new`](Self::new).
    pub fn freshness(&self) -> Option<Freshness> {
        self.freshness
    }

    /// The same response with `freshness` kept (see [`freshness`](Self::freshness)).
    pub fn with_freshness(mut self, freshness: Freshness) -> Self {
        self.freshness = Some(freshness);
        self
    }

    /// The request headers the answer varies on (lower-case name, the request's value or
    /// `None` if it had none); see [`vary_matches`](Self::vary_matches).
    pub fn vary(&self) -> &[(String, Option<String>)] {
        &self.vary
    }

    /// Everything but the body, as a cache entry's metadata (the serialized form without
    /// `text`/`base64`): what a `304` refreshes, stored apart from the body by
    /// [`CacheStore::touch_with_meta`](comic_vine_store::CacheStore::touch_with_meta).
    pub fn meta(&self) -> serde_json::Value {
        let mut json = serde_json::to_value(self).unwrap_or_default();
        if let Some(object) = json.as_object_mut() {
            object.remove("text");
            object.remove("base64");
        }
        json
    }

    /// This body with the status, headers, validators and freshness of `meta` (see
    /// [`meta`](Self::meta)); an error, for the caller to keep the response as it was,
    /// if `meta` is not one.
    pub fn with_meta(self, meta: &serde_json::Value) -> Result<Self, serde_json::Error> {
        let read: Self = serde::Deserialize::deserialize(meta)?;
        Ok(Self {
            body: self.body,
            ..read
        })
    }

    /// Replaces the kept headers (after a `304`).
    pub(crate) fn set_headers(&mut self, headers: Vec<(String, String)>) {
        self.headers = headers;
    }

    /// The body as text, if it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// The response to keep of an upstream answer: its `status`, the values of the
    /// `keep` headers it has (those that are valid UTF-8), its `body`, and its
    /// validators and `Cache-Control` (for
    /// [`HttpPipeline::revalidation_headers`](crate::HttpPipeline::revalidation_headers)). Add what it varies on
    /// with [`record_vary`](Self::record_vary).
    pub fn from_upstream(
        status: StatusCode,
        headers: &HeaderMap,
        keep: &[HeaderName],
        body: Bytes,
    ) -> Self {
        let kept = keep
            .iter()
            .flat_map(|name| {
                headers.get_all(name).iter().filter_map(|v| {
                    v.to_str()
                        .ok()
                        .map(|v| (name.as_str().to_owned(), v.to_owned()))
                })
            })
            .collect();
        let mut response = Self::new(status, kept, body);
        crate::revalidate::take_validators(&mut response, headers);
        response
    }

    /// An `http::Response` with this status, headers and body, marked with how it was
    /// served (response extensions [`Served`] and
    /// [`ServedBy`](comic_vine_store::pipeline::ServedBy), headers [`SERVED_BY_HEADER`]
    /// and `Age`, in whole seconds).
    /// Stored headers that are not valid HTTP are left out.
    pub fn into_http(self, served: Served) -> http::Response<Bytes> {
        let status = self.status();
        let mut response = http::Response::new(self.body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        for (name, value) in &self.headers {
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                (Ok(name), Ok(value)) => {
                    headers.append(name, value);
                }
                _ => tracing::debug!(%name, "dropping a stored header that is not valid HTTP"),
            }
        }
        headers.insert(
            SERVED_BY_HEADER,
            HeaderValue::from_static(served_by_name(served.by)),
        );
        headers.insert(http::header::AGE, HeaderValue::from(served.age.as_secs()));
        response.extensions_mut().insert(served.by);
        response.extensions_mut().insert(served);
        response
    }
}

/// The serialized form: exactly one of `text` and `base64` (neither: an empty body).
#[derive(Deserialize)]
struct Stored {
    status: u16,
    #[serde(default)]
    headers: Vec<(String, String)>,
    text: Option<String>,
    base64: Option<String>,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default)]
    last_modified: Option<String>,
    #[serde(default)]
    cache_control: Option<String>,
    #[serde(default)]
    vary: Vec<(String, Option<String>)>,
    #[serde(default)]
    freshness: Option<Freshness>,
}

/// A stored response that cannot be read back.
#[derive(Debug, thiserror::Error)]
enum InvalidCachedResponse {
    /// Both `text` and `base64` are set.
    #[error("a cached response has both `text` and `base64` bodies")]
    TwoBodies,
    /// `base64` does not decode.
    #[error("a cached response's base64 body does not decode: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The status is not a valid HTTP status.
    #[error("a cached response has the invalid status {0}")]
    Status(u16),
}

impl TryFrom<Stored> for CachedResponse {
    type Error = InvalidCachedResponse;

    fn try_from(s: Stored) -> Result<Self, Self::Error> {
        if StatusCode::from_u16(s.status).is_err() {
            return Err(InvalidCachedResponse::Status(s.status));
        }
        let body = match (s.text, s.base64) {
            (Some(_), Some(_)) => return Err(InvalidCachedResponse::TwoBodies),
            (Some(text), None) => Bytes::from(text),
            (None, Some(b64)) => Bytes::from(STANDARD.decode(b64)?),
            (None, None) => Bytes::new(),
        };
        // Entries stored before the validator fields kept them among the headers; those
        // are read under the same rules as an upstream answer's.
        let header = |name: &str, valid: fn(&str) -> bool| {
            s.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .filter(|v| valid(v))
        };
        let etag = s.etag.or_else(|| header("etag", is_entity_tag));
        let last_modified = s
            .last_modified
            .or_else(|| header("last-modified", is_http_date));
        Ok(Self {
            status: s.status,
            body,
            etag,
            last_modified,
            cache_control: s.cache_control,
            vary: s.vary,
            freshness: s.freshness,
            headers: s.headers,
        })
    }
}

impl Serialize for CachedResponse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;

        let mut s = serializer.serialize_struct("CachedResponse", 8)?;
        s.serialize_field("status", &self.status)?;
        s.serialize_field("headers", &self.headers)?;
        match self.text() {
            Some(text) => s.serialize_field("text", text)?,
            None => s.serialize_field("base64", &STANDARD.encode(&self.body))?,
        }
        for (name, value) in [
            ("etag", &self.etag),
            ("last_modified", &self.last_modified),
            ("cache_control", &self.cache_control),
        ] {
            if let Some(v) = value {
                s.serialize_field(name, v)?;
            }
        }
        if !self.vary.is_empty() {
            s.serialize_field("vary", &self.vary)?;
        }
        if let Some(f) = &self.freshness {
            s.serialize_field("freshness", f)?;
        }
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_bodies_round_trip_as_base64() {
        let response =
            CachedResponse::new(StatusCode::OK, vec![], Bytes::from_static(&[0xff, 0, 1]));
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json["base64"], "/wAB");
        assert!(json.get("text").is_none());
        assert_eq!(
            serde_json::from_value::<CachedResponse>(json).unwrap(),
            response
        );
    }

    #[test]
    fn rejects_invalid_stored_values() {
        for bad in [
            r#"{"status":200,"text":"a","base64":"YQ=="}"#,
            r#"{"status":200,"base64":"%%%"}"#,
            r#"{"status":7,"text":"a"}"#,
        ] {
            assert!(
                serde_json::from_str::<CachedResponse>(bad).is_err(),
                "{bad}"
            );
        }
        let empty: CachedResponse = serde_json::from_str(r#"{"status":204}"#).unwrap();
        assert_eq!(
            (empty.status(), empty.body().len()),
            (StatusCode::NO_CONTENT, 0)
        );
    }

    #[test]
    fn reads_entries_stored_before_the_validator_fields_and_round_trips_the_new_ones() {
        let old = r#"{"status":200,"headers":[["etag","\"v1\""],["last-modified","Sun, 06 Nov 1994 08:49:37 GMT"]],"text":"{}"}"#;
        let r: CachedResponse = serde_json::from_str(old).unwrap();
        assert_eq!(r.etag(), Some("\"v1\""));
        assert_eq!(r.last_modified(), Some("Sun, 06 Nov 1994 08:49:37 GMT"));
        assert_eq!((r.cache_control(), r.vary().len()), (None, 0));
        let plain = CachedResponse::new(StatusCode::OK, vec![], Bytes::from_static(b"x"));
        let json = serde_json::to_value(&plain).unwrap();
        assert_eq!(json.as_object().unwrap().len(), 3, "{json}");
        let mut full = plain.clone();
        full.etag = Some("\"e\"".into());
        full.cache_control = Some("max-age=5".into());
        full.vary = vec![("accept".into(), None)];
        let back: CachedResponse =
            serde_json::from_value(serde_json::to_value(&full).unwrap()).unwrap();
        assert_eq!(back, full);
    }

    #[test]
    fn the_meta_is_all_but_the_body_and_amends_another_body() {
        let mut stored = CachedResponse::new(
            StatusCode::OK,
            vec![("content-language".into(), "en".into())],
            Bytes::from_static(b"{\"results\":[]}"),
        );
        stored.etag = Some("\"v1\"".into());
        let mut revalidated = stored.clone();
        revalidated.set_headers(vec![("content-language".into(), "fr".into())]);
        revalidated.etag = Some("\"v2\"".into());
        revalidated.cache_control = Some("max-age=60".into());
        let meta = revalidated.meta();
        assert!(
            meta.get("text").is_none() && meta.get("base64").is_none(),
            "{meta}"
        );
        assert_eq!(meta["etag"], "\"v2\"");
        let amended = stored.clone().with_meta(&meta).unwrap();
        assert_eq!(amended, revalidated, "the stored body, the new rest");
        assert!(stored.with_meta(&serde_json::json!({"status": 7})).is_err());
    }

    #[test]
    fn keeps_the_selected_headers_and_becomes_a_response_marked_with_who_served_it() {
        use comic_vine_store::pipeline::ServedBy;
        use http::header::{CONTENT_TYPE, SET_COOKIE};

        use crate::ResponseExt as _;

        let mut upstream = HeaderMap::new();
        upstream.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        upstream.insert(SET_COOKIE, "s=1".parse().unwrap());
        let kept = CachedResponse::from_upstream(
            StatusCode::OK,
            &upstream,
            &[CONTENT_TYPE],
            Bytes::from_static(b"{}"),
        );
        let mut stored = serde_json::to_value(&kept).unwrap();
        stored["headers"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!(["bad name", "x"]));
        let response: CachedResponse = serde_json::from_value(stored).unwrap();
        let served = Served {
            by: ServedBy::DedupeJoin,
            rate_limit_waits: 0,
            degraded: true,
            age: std::time::Duration::from_millis(7_900),
            stale: None,
        };
        let r = response.into_http(served);
        assert_eq!(r.served_by(), Some(ServedBy::DedupeJoin));
        assert_eq!(r.served(), Some(served));
        assert_eq!(r.headers()[SERVED_BY_HEADER], "dedupe-join");
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.headers()["age"], "7");
        assert_eq!(r.headers().len(), 3, "{:?}", r.headers());
        assert_eq!(r.body().as_ref(), b"{}");
    }
}

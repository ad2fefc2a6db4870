//! [`CachedResponse`]: the part of a successful HTTP response the stores keep.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use comic_vine_store::pipeline::ServedBy;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use crate::{SERVED_BY_HEADER, Served};

/// A successful (2xx) response as the cache and dedupe stores keep it: the status, the
/// selected headers and the body.
///
/// Serialized as `{"status": 200, "headers": [["content-type", "…"]], "text": "…"}`: a
/// UTF-8 body as a JSON string (`text`), any other body as standard base64
/// (`base64`); the DynamoDB stores compress either with zstd.
///
/// ```
/// use comic_vine_reqwest::CachedResponse;
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
}

impl CachedResponse {
    /// A response with `status`, `headers` (name, value) and `body`.
    pub fn new(status: StatusCode, headers: Vec<(String, String)>, body: Bytes) -> Self {
        Self {
            status: status.as_u16(),
            headers,
            body,
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

    /// The body as text, if it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// A `reqwest::Response` for `url` with this status, headers and body, marked with
    /// how it was served (response extensions [`Served`] and [`ServedBy`], header
    /// [`SERVED_BY_HEADER`]).
    pub(crate) fn into_response(self, url: reqwest::Url, served: Served) -> reqwest::Response {
        use reqwest::ResponseBuilderExt as _;

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
        response.extensions_mut().insert(served.by);
        response.extensions_mut().insert(served);
        let (mut parts, body) = response.into_parts();
        // `url` is carried into the reqwest response through this builder extension.
        let with_url = http::Response::builder().url(url).body(()).map(|r| {
            let (url_parts, ()) = r.into_parts();
            url_parts.extensions
        });
        if let Ok(extensions) = with_url {
            parts.extensions.extend(extensions);
        }
        reqwest::Response::from(http::Response::from_parts(parts, body))
    }
}

/// The value of [`SERVED_BY_HEADER`] for `served_by`.
pub(crate) fn served_by_name(served_by: ServedBy) -> &'static str {
    match served_by {
        ServedBy::Cache => "cache",
        ServedBy::DedupeJoin => "dedupe-join",
        ServedBy::Upstream => "upstream",
        ServedBy::Revalidated => "revalidated",
        ServedBy::Stale => "stale",
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
        Ok(Self {
            status: s.status,
            headers: s.headers,
            body,
        })
    }
}

impl Serialize for CachedResponse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;

        let mut s = serializer.serialize_struct("CachedResponse", 3)?;
        s.serialize_field("status", &self.status)?;
        s.serialize_field("headers", &self.headers)?;
        match self.text() {
            Some(text) => s.serialize_field("text", text)?,
            None => s.serialize_field("base64", &STANDARD.encode(&self.body))?,
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

    #[tokio::test]
    async fn becomes_a_reqwest_response_marked_with_who_served_it() {
        use crate::ResponseExt as _;

        let response = CachedResponse::new(
            StatusCode::OK,
            vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                ("bad name".to_owned(), "x".to_owned()),
            ],
            Bytes::from_static(b"{}"),
        );
        let url = reqwest::Url::parse("http://127.0.0.1:1/api/issues/").unwrap();
        let served = Served {
            by: ServedBy::DedupeJoin,
            rate_limit_waits: 0,
            degraded: true,
        };
        let r = response.into_response(url.clone(), served);
        assert_eq!(r.url(), &url);
        assert_eq!(r.served_by(), Some(ServedBy::DedupeJoin));
        assert_eq!(r.served(), Some(served));
        assert_eq!(r.headers()[SERVED_BY_HEADER], "dedupe-join");
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.headers().len(), 2);
        assert_eq!(r.text().await.unwrap(), "{}");
    }
}

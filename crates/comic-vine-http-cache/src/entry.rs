//! The value stored per cached response: the response and its cache policy, in a form
//! every [`CacheStore`](comic_vine_store::CacheStore) keeps exactly.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http_cache::{HttpHeaders, HttpResponse, HttpVersion, Url};
use http_cache_semantics::CachePolicy;
use serde::{Deserialize, Serialize};

use crate::error::HttpCacheStoreError;

/// The version of the stored layout; an entry of another version reads as a miss.
pub const ENTRY_FORMAT: u32 = 1;

/// One cached HTTP response as stored: status, URL, version, headers, the body as
/// base64 (so any bytes, not only UTF-8, come back exactly), http-cache's metadata and
/// the [`CachePolicy`] (serialized by http-cache-semantics' own serde support).
///
/// It is plain JSON, so any `CacheStore<HttpCacheEntry>` holds it (the DynamoDB store
/// chunks values over one item's 400 KB; every store accepts up to
/// [`MAX_VALUE_BYTES`](comic_vine_store::cache::MAX_VALUE_BYTES) of serialized JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HttpCacheEntry {
    /// The layout version ([`ENTRY_FORMAT`]).
    pub format: u32,
    /// HTTP status code.
    pub status: u16,
    /// The response URL.
    pub url: String,
    /// The HTTP version.
    pub version: HttpVersion,
    /// Response headers, every value of every name.
    pub headers: HttpHeaders,
    /// The body, standard base64 with padding.
    pub body: String,
    /// http-cache's user metadata, base64, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// The cache policy the response was stored under.
    pub policy: CachePolicy,
}

impl HttpCacheEntry {
    /// The entry for `response` stored under `policy`.
    pub fn new(response: &HttpResponse, policy: CachePolicy) -> Self {
        Self {
            format: ENTRY_FORMAT,
            status: response.status,
            url: response.url.to_string(),
            version: response.version,
            headers: response.headers.clone(),
            body: STANDARD.encode(&response.body),
            metadata: response.metadata.as_ref().map(|m| STANDARD.encode(m)),
            policy,
        }
    }

    /// The response and policy back, exactly as stored.
    ///
    /// # Errors
    ///
    /// [`HttpCacheStoreError::CorruptEntry`] naming the field that does not decode
    /// (another layout version, bad base64, a URL that does not parse).
    pub fn into_parts(self) -> Result<(HttpResponse, CachePolicy), HttpCacheStoreError> {
        if self.format != ENTRY_FORMAT {
            return Err(HttpCacheStoreError::corrupt(
                "format",
                format!("layout {} (this version reads {ENTRY_FORMAT})", self.format),
            ));
        }
        let body = STANDARD
            .decode(&self.body)
            .map_err(|e| HttpCacheStoreError::corrupt("body", e.to_string()))?;
        let metadata = self
            .metadata
            .map(|m| STANDARD.decode(m))
            .transpose()
            .map_err(|e| HttpCacheStoreError::corrupt("metadata", e.to_string()))?;
        let url = Url::parse(&self.url)
            .map_err(|e| HttpCacheStoreError::corrupt("url", e.to_string()))?;
        let response = HttpResponse {
            body,
            headers: self.headers,
            status: self.status,
            url,
            version: self.version,
            metadata,
        };
        Ok((response, self.policy))
    }
}

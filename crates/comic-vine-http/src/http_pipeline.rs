//! [`HttpPipeline`]: GET requests through a [`Pipeline`], written once for every client.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use comic_vine_store::pipeline::{Pipeline, Request, UpstreamError};
use comic_vine_store::{Priority, hash_request};
use http::header::{
    ACCEPT, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_TYPE, ETAG, LAST_MODIFIED, RANGE,
};
use http::{HeaderMap, HeaderName, Method, StatusCode, Uri};

use crate::freshness::{Freshness, FreshnessRules, NotStored, freshness};
use crate::key::{self, DEFAULT_CREDENTIAL_PARAMS, default_resource};
use crate::retry_after::retry_after;
use crate::revalidate::NotModified;
use crate::served::{Served, served_by_name};
use crate::{CachedResponse, Error, Outcome, UpstreamResponse};

type ResourceFn = dyn Fn(&Uri) -> String + Send + Sync;

/// The HTTP side of a [`Pipeline`], shared by the client adapters
/// (`comic-vine-reqwest`, `comic-vine-tower`): which requests go through it, their key,
/// and what becomes of upstream's answer.
///
/// - Only GET requests without a `Range` header, to an absolute `http`/`https` URI, go
///   through the pipeline ([`prepare`](Self::prepare) is `None` for the others: they
///   pass through untouched).
/// - The request key is `hash_request("GET scheme://host[:port]/path",
///   {"query": …, "headers": …})` over the normalized URL: the decoded query parameters
///   without the credential ones (see [`credential_params`](Self::credential_params)),
///   so the order of parameters and the API key do not matter, plus the
///   [`hashed_headers`](Self::hashed_headers) the request carries. Every adapter
///   computes the same key for the same request, so they share cache entries.
/// - Only 2xx answers (not 206) are cached and shared. A 429 or 420 answer puts the
///   resource into the pipeline's cooldown (from `Retry-After`, seconds or HTTP date),
///   and like any other non-2xx answer or transport error it reaches the caller that
///   made the upstream call unchanged ([`Outcome::Upstream`]); callers that joined it
///   get [`Outcome::Failed`].
/// - Responses from the pipeline are rebuilt from the [`CachedResponse`] (status,
///   [`cached_headers`](Self::cached_headers), body) whoever served them
///   ([`CachedResponse::into_http`]).
#[derive(Clone)]
pub struct HttpPipeline {
    pipeline: Arc<Pipeline<CachedResponse>>,
    credential_params: Vec<String>,
    hashed_headers: Vec<HeaderName>,
    cached_headers: Vec<HeaderName>,
    resource: Arc<ResourceFn>,
    default_priority: Priority,
    rules: FreshnessRules,
}

impl fmt::Debug for HttpPipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpPipeline")
            .field("credential_params", &self.credential_params)
            .field("hashed_headers", &self.hashed_headers)
            .field("cached_headers", &self.cached_headers)
            .field("default_priority", &self.default_priority)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl From<Arc<Pipeline<CachedResponse>>> for HttpPipeline {
    fn from(pipeline: Arc<Pipeline<CachedResponse>>) -> Self {
        Self::new(pipeline)
    }
}

/// A GET request [`HttpPipeline::prepare`]d for the pipeline.
#[derive(Debug)]
pub struct Prepared {
    request: Request,
    endpoint: String,
}

impl Prepared {
    /// The endpoint (`GET scheme://host[:port]/path`), for logs: never the query.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl HttpPipeline {
    /// The HTTP side of `pipeline` with the defaults: credential parameters
    /// [`DEFAULT_CREDENTIAL_PARAMS`], hashed headers `accept`, cached headers
    /// `content-type`, `content-encoding`, `content-language`, `etag`, `last-modified`,
    /// resources by [`default_resource`], priority `Background`.
    pub fn new(pipeline: Arc<Pipeline<CachedResponse>>) -> Self {
        Self {
            pipeline,
            credential_params: DEFAULT_CREDENTIAL_PARAMS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            hashed_headers: vec![ACCEPT],
            cached_headers: vec![
                CONTENT_TYPE,
                CONTENT_ENCODING,
                CONTENT_LANGUAGE,
                ETAG,
                LAST_MODIFIED,
            ],
            resource: Arc::new(default_resource),
            default_priority: Priority::Background,
            rules: FreshnessRules::default(),
        }
    }

    /// Replaces the query parameters left out of the request key (compared without
    /// regard to case). Leave out only parameters that do not change the answer: callers
    /// with different values share one cache entry.
    pub fn credential_params<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.credential_params = names.into_iter().map(Into::into).collect();
        self
    }

    /// Replaces the request headers included in the request key.
    pub fn hashed_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        self.hashed_headers = names.into_iter().collect();
        self
    }

    /// Replaces the response headers kept with a cached response.
    pub fn cached_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        self.cached_headers = names.into_iter().collect();
        self
    }

    /// Replaces the function naming the rate-limit resource of a URI.
    pub fn resource_fn(mut self, f: impl Fn(&Uri) -> String + Send + Sync + 'static) -> Self {
        self.resource = Arc::new(f);
        self
    }

    /// The priority of requests that carry no [`Priority`] extension.
    pub fn default_priority(mut self, priority: Priority) -> Self {
        self.default_priority = priority;
        self
    }

    /// Replaces the overrides of upstream's caching headers (default: none).
    pub fn freshness_rules(mut self, rules: FreshnessRules) -> Self {
        self.rules = rules;
        self
    }

    /// Whether and how long to keep a 2xx answer with `response` headers, that arrived at
    /// `now`, to a request with `request` headers ([`freshness`] with this pipeline's
    /// [`FreshnessRules`]).
    pub fn freshness(
        &self,
        request: &HeaderMap,
        response: &HeaderMap,
        now: SystemTime,
    ) -> Result<Freshness, NotStored> {
        freshness(&self.rules, request, response, now)
    }

    /// The headers that make the request for a stale `stored` entry conditional
    /// (`If-None-Match`, `If-Modified-Since`); empty if it has no validators.
    pub fn revalidation_headers(&self, stored: &CachedResponse) -> HeaderMap {
        crate::revalidation_headers(stored)
    }

    /// `stored` refreshed by a `304` (`not_modified`) to a request with `request`
    /// headers, at `now`: the [`cached_headers`](Self::cached_headers) and validators the
    /// `304` sends replace the stored ones, the freshness comes from the merged headers,
    /// the body is the stored one ([`merge_not_modified`](crate::merge_not_modified)).
    pub fn merge_not_modified(
        &self,
        stored: &CachedResponse,
        not_modified: &http::response::Parts,
        request: &HeaderMap,
        now: SystemTime,
    ) -> NotModified {
        crate::merge_not_modified(
            stored,
            not_modified,
            request,
            &self.rules,
            &self.cached_headers,
            now,
        )
    }

    /// The key of a GET request to `uri` with `headers` in the cache and dedupe stores;
    /// `None` if `uri` is not absolute `http`/`https`.
    pub fn request_hash(&self, uri: &Uri, headers: &HeaderMap) -> Option<String> {
        let url = key::absolute_url(uri)?;
        Some(hash_request(
            &key::endpoint(&url),
            &self.params(&url, headers),
        ))
    }

    fn params(&self, url: &url::Url, headers: &HeaderMap) -> serde_json::Value {
        key::params(url, headers, &self.credential_params, &self.hashed_headers)
    }

    /// The pipeline request for `method uri` with `headers` and the caller's
    /// `priority` (else the default), or `None` if the request passes through.
    pub fn prepare(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        priority: Option<Priority>,
    ) -> Option<Prepared> {
        if method != Method::GET || headers.contains_key(RANGE) {
            return None;
        }
        let Some(url) = key::absolute_url(uri) else {
            tracing::debug!("not an absolute http(s) URI: passing through");
            return None;
        };
        let endpoint = key::endpoint(&url);
        let request = Request::new(
            endpoint.clone(),
            self.params(&url, headers),
            (self.resource)(uri),
        )
        .with_priority(priority.unwrap_or(self.default_priority));
        Some(Prepared { request, endpoint })
    }

    /// Serves `prepared` through the pipeline; `upstream` (awaited only if this caller
    /// makes the upstream call) sends the request with the adapter's client.
    pub async fn execute<R, Fut>(&self, prepared: &Prepared, upstream: Fut) -> Outcome<R, R::Error>
    where
        R: UpstreamResponse,
        Fut: Future<Output = Result<R, R::Error>>,
    {
        let endpoint = &prepared.endpoint;
        let mut unshared = None;
        let result = self
            .pipeline
            .execute(&prepared.request, || {
                fetch(upstream, &self.cached_headers, &mut unshared)
            })
            .await;
        match (result, unshared) {
            (Ok(response), _) => {
                let served = Served {
                    by: response.served_by,
                    rate_limit_waits: response.rate_limit_waits,
                    degraded: response.degraded,
                };
                tracing::debug!(%endpoint, served_by = served_by_name(served.by), "served through the stores");
                Outcome::Served(response.value.into_http(served))
            }
            (Err(e), Some(original)) => {
                tracing::debug!(%endpoint, error = %e, "upstream answer not shared");
                Outcome::Upstream(original)
            }
            (Err(e), None) => Outcome::Failed(Error::new(endpoint.clone(), e)),
        }
    }
}

/// The owner's upstream call. A 2xx answer becomes the value to cache and share;
/// anything else is kept in `unshared` for the owner and reported to the pipeline.
async fn fetch<R: UpstreamResponse>(
    upstream: impl Future<Output = Result<R, R::Error>>,
    keep: &[HeaderName],
    unshared: &mut Option<Result<R, R::Error>>,
) -> Result<CachedResponse, UpstreamError> {
    let transport =
        |e: &R::Error| UpstreamError::Failed(Box::new(NotShared::Transport(e.to_string())));
    let response = match upstream.await {
        Ok(response) => response,
        Err(e) => {
            let failure = transport(&e);
            *unshared = Some(Err(e));
            return Err(failure);
        }
    };
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS || status.as_u16() == 420 {
        let retry_after = retry_after(response.headers(), SystemTime::now());
        *unshared = Some(Ok(response));
        return Err(UpstreamError::RateLimited { retry_after });
    }
    if !status.is_success() || status == StatusCode::PARTIAL_CONTENT {
        *unshared = Some(Ok(response));
        return Err(UpstreamError::Failed(Box::new(NotShared::Status(status))));
    }
    let headers = response.headers().clone();
    match response.into_bytes().await {
        Ok(body) => Ok(CachedResponse::from_upstream(status, &headers, keep, body)),
        Err(e) => {
            let failure = transport(&e);
            *unshared = Some(Err(e));
            Err(failure)
        }
    }
}

/// Why an upstream answer was not shared.
#[derive(Debug, thiserror::Error)]
enum NotShared {
    #[error("upstream answered {0}")]
    Status(StatusCode),
    #[error("request to upstream failed: {0}")]
    Transport(String),
}

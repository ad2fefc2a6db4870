//! [`HttpPipeline`]: GET requests through a [`Pipeline`], written once for every client.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use comic_vine_store::cache::resource_key;
use comic_vine_store::pipeline::{Pipeline, Request};
use comic_vine_store::{Priority, hash_request};
use http::header::{
    ACCEPT, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_TYPE, ETAG, LAST_MODIFIED, RANGE,
};
use http::{HeaderMap, HeaderName, Method, Uri};

use crate::CachedResponse;
use crate::freshness::{Freshness, FreshnessRules, NotStored, freshness};
use crate::hook::AcquireHook;
use crate::key::{self, DEFAULT_CREDENTIAL_PARAMS, default_resource};
use crate::retry::RetryPolicy;
use crate::revalidate::NotModified;

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
///   [`hashed_headers`](Self::hashed_headers) the request carries, under the request's
///   [`resource_fn`](Self::resource_fn) resource (`<resource>/<hash>`, so that
///   `CacheStore::purge_resource` removes that resource's entries). Every adapter
///   computes the same key for the same request, so they share cache entries.
/// - Only 2xx answers (not 206) whose headers allow it (RFC 9111 as a shared cache:
///   [`freshness`](Self::freshness)) are cached and shared; `Vary` is honoured. A 429
///   or 420 answer puts the resource into the pipeline's cooldown (from `Retry-After`,
///   seconds or HTTP date), and like any other non-2xx or unstorable answer or
///   transport error it reaches the caller that made the upstream call unchanged
///   ([`Outcome::Upstream`](crate::Outcome::Upstream)); callers that joined it get
///   [`Outcome::Failed`](crate::Outcome::Failed).
/// - Upstream calls are retried only through [`execute_with`](Self::execute_with) with
///   [`retries`](Self::retries) set.
/// - Responses from the pipeline are rebuilt from the [`CachedResponse`] (status,
///   [`cached_headers`](Self::cached_headers), body) whoever served them
///   ([`CachedResponse::into_http`]).
#[derive(Clone)]
pub struct HttpPipeline {
    pub(crate) pipeline: Arc<Pipeline<CachedResponse>>,
    credential_params: Vec<String>,
    hashed_headers: Vec<HeaderName>,
    pub(crate) cached_headers: Vec<HeaderName>,
    resource: Arc<ResourceFn>,
    default_priority: Priority,
    pub(crate) rules: FreshnessRules,
    pub(crate) retry: RetryPolicy,
    pub(crate) acquire: Option<AcquireHook>,
}

impl fmt::Debug for HttpPipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpPipeline")
            .field("credential_params", &self.credential_params)
            .field("hashed_headers", &self.hashed_headers)
            .field("cached_headers", &self.cached_headers)
            .field("default_priority", &self.default_priority)
            .field("rules", &self.rules)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl From<Arc<Pipeline<CachedResponse>>> for HttpPipeline {
    fn from(pipeline: Arc<Pipeline<CachedResponse>>) -> Self {
        Self::new(pipeline)
    }
}

/// A GET request [`HttpPipeline::prepare`]d for the pipeline.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub(crate) request: Request,
    pub(crate) endpoint: String,
    /// The request's headers (for `Vary`, `Cache-Control: no-store`, `Authorization`).
    pub(crate) headers: HeaderMap,
    pub(crate) params: serde_json::Value,
    pub(crate) priority: Priority,
    pub(crate) deadline: Option<tokio::time::Instant>,
}

impl Prepared {
    /// The endpoint (`GET scheme://host[:port]/path`), for logs: never the query.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The same request, with no upstream retry started that would wait past `deadline`
    /// (see [`HttpPipeline::retries`]).
    pub fn with_deadline(mut self, deadline: tokio::time::Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The pipeline request for the variant of the answer `stored` varies on: this
    /// request's key plus the values of the varied headers it carries.
    pub(crate) fn variant(&self, stored: &CachedResponse) -> Request {
        let mut params = self.params.clone();
        if let Some(object) = params.as_object_mut() {
            let vary: Vec<_> = stored
                .vary()
                .iter()
                .map(|(name, _)| {
                    serde_json::json!([name, crate::vary::request_value(&self.headers, name)])
                })
                .collect();
            object.insert("vary".to_owned(), serde_json::Value::Array(vary));
        }
        Request::new(self.endpoint.clone(), params, self.request.resource())
            .with_priority(self.priority)
    }
}

impl HttpPipeline {
    /// The HTTP side of `pipeline` with the defaults: credential parameters
    /// [`DEFAULT_CREDENTIAL_PARAMS`], hashed headers `accept`, cached headers
    /// `content-type`, `content-encoding`, `content-language`, `etag`, `last-modified`,
    /// resources by [`default_resource`], priority `Background`.
    ///
    /// The pipeline is used with an [`HttpEntryPolicy`](crate::HttpEntryPolicy) (on a
    /// clone sharing its stores): each answer is stored fresh for the lifetime its
    /// headers give, else the configured TTL, and its own stale directives apply.
    pub fn new(pipeline: Arc<Pipeline<CachedResponse>>) -> Self {
        let policy = Arc::new(crate::HttpEntryPolicy);
        Self {
            pipeline: Arc::new(Pipeline::clone(&pipeline).with_entry_policy(policy)),
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
            retry: RetryPolicy::none(),
            acquire: None,
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

    /// Retries upstream calls made with [`execute_with`](Self::execute_with) by `policy`
    /// (default: none), every retry granted first by `acquire` (the pipeline's rate
    /// limiter: [`rate_limit_hook`](crate::rate_limit_hook),
    /// [`adaptive_rate_limit_hook`](crate::adaptive_rate_limit_hook)).
    pub fn retries(mut self, policy: RetryPolicy, acquire: AcquireHook) -> Self {
        self.retry = policy;
        self.acquire = Some(acquire);
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

    /// The key of a GET request to `uri` with `headers` in the cache and dedupe stores
    /// (`<resource>/<hash>`, see [`Request::hash`]); `None` if `uri` is not absolute
    /// `http`/`https`.
    pub fn request_hash(&self, uri: &Uri, headers: &HeaderMap) -> Option<String> {
        let url = key::absolute_url(uri)?;
        let hash = hash_request(&key::endpoint(&url), &self.params(&url, headers));
        Some(resource_key(&(self.resource)(uri), &hash))
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
        let params = self.params(&url, headers);
        let priority = priority.unwrap_or(self.default_priority);
        let request = Request::new(endpoint.clone(), params.clone(), (self.resource)(uri))
            .with_priority(priority);
        Some(Prepared {
            request,
            endpoint,
            headers: headers.clone(),
            params,
            priority,
            deadline: None,
        })
    }
}

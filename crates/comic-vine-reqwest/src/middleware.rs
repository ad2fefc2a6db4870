//! [`StoreMiddleware`]: GET requests through the pipeline, everything else untouched.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use comic_vine_store::Priority;
use comic_vine_store::hash_request;
use comic_vine_store::pipeline::{Pipeline, Request, ServedBy, UpstreamError};
use http::header::{
    ACCEPT, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_TYPE, ETAG, LAST_MODIFIED, RANGE,
};
use http::{Extensions, HeaderName, Method, StatusCode};
use reqwest::Url;
use reqwest_middleware::{Middleware, Next};

use crate::cached::{CachedResponse, served_by_name};
use crate::key::{self, DEFAULT_CREDENTIAL_PARAMS, default_resource};
use crate::retry_after::retry_after;

type ResourceFn = dyn Fn(&Url) -> String + Send + Sync;

/// A `reqwest_middleware` layer that answers GET requests through a
/// [`Pipeline`]: from the cache, by joining an identical request in flight (in this
/// process or, on shared stores, another), or by calling upstream within the rate limit.
///
/// - Only GET requests without a `Range` header go through the pipeline; every other
///   request passes through untouched.
/// - The request key is `hash_request("GET scheme://host[:port]/path",
///   {"query": …, "headers": …})`: the decoded query parameters without the credential
///   ones (see [`credential_params`](Self::credential_params)), so the order of
///   parameters and the API key do not matter, plus the
///   [`hashed_headers`](Self::hashed_headers) the request carries.
/// - Only 2xx responses are cached and shared. A 429 or 420 answer puts the resource
///   into the pipeline's cooldown (from `Retry-After`, seconds or HTTP date), and like
///   any other non-2xx answer or transport error it reaches the caller that made the
///   upstream call unchanged; callers that joined it get an error.
/// - Responses from the pipeline are rebuilt from the [`CachedResponse`] (status,
///   [`cached_headers`](Self::cached_headers), body) whoever served them, and carry
///   [`ServedBy`] and [`Served`] as response extensions (see [`ResponseExt`]) and
///   [`ServedBy`] in the [`SERVED_BY_HEADER`](crate::SERVED_BY_HEADER) header.
/// - A request's priority is the [`Priority`] request extension
///   (`RequestBuilder::with_extension`), else [`default_priority`](Self::default_priority).
/// - Pipeline failures (a store error, a rate-limit wait over `max_wait`, a joined
///   request that failed) are `reqwest_middleware::Error::Middleware` whose error
///   downcasts to [`PipelineError`](comic_vine_store::pipeline::PipelineError).
#[derive(Clone)]
pub struct StoreMiddleware {
    pipeline: Arc<Pipeline<CachedResponse>>,
    credential_params: Vec<String>,
    hashed_headers: Vec<HeaderName>,
    cached_headers: Vec<HeaderName>,
    resource: Arc<ResourceFn>,
    default_priority: Priority,
}

impl fmt::Debug for StoreMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreMiddleware")
            .field("credential_params", &self.credential_params)
            .field("hashed_headers", &self.hashed_headers)
            .field("cached_headers", &self.cached_headers)
            .field("default_priority", &self.default_priority)
            .finish_non_exhaustive()
    }
}

impl StoreMiddleware {
    /// A layer over `pipeline` with the defaults: credential parameters
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

    /// Replaces the function naming the rate-limit resource of a URL.
    pub fn resource_fn(mut self, f: impl Fn(&Url) -> String + Send + Sync + 'static) -> Self {
        self.resource = Arc::new(f);
        self
    }

    /// The priority of requests without a [`Priority`] extension.
    pub fn default_priority(mut self, priority: Priority) -> Self {
        self.default_priority = priority;
        self
    }

    /// The key of `request` in the cache and dedupe stores (meaningful for GET).
    pub fn request_hash(&self, request: &reqwest::Request) -> String {
        hash_request(&key::endpoint(request.url()), &self.params(request))
    }

    fn params(&self, request: &reqwest::Request) -> serde_json::Value {
        key::params(
            request.url(),
            request.headers(),
            &self.credential_params,
            &self.hashed_headers,
        )
    }
}

#[async_trait::async_trait]
impl Middleware for StoreMiddleware {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        if req.method() != Method::GET || req.headers().contains_key(RANGE) {
            return next.run(req, extensions).await;
        }
        let url = req.url().clone();
        // Logs and errors name the endpoint, never the query (it may hold credentials).
        let endpoint = key::endpoint(&url);
        let priority = extensions
            .get::<Priority>()
            .copied()
            .unwrap_or(self.default_priority);
        let request = Request::new(endpoint.clone(), self.params(&req), (self.resource)(&url))
            .with_priority(priority);
        let mut unshared = None;
        let result = self
            .pipeline
            .execute(&request, || {
                fetch(next, req, extensions, &self.cached_headers, &mut unshared)
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
                Ok(response.value.into_response(url, served))
            }
            // The owner's own upstream answer (non-2xx) or transport error, unchanged.
            (Err(e), Some(original)) => {
                tracing::debug!(%endpoint, error = %e, "upstream answer not shared");
                original
            }
            (Err(e), None) => Err(reqwest_middleware::Error::Middleware(
                anyhow::Error::new(e).context(format!("{endpoint} through the stores")),
            )),
        }
    }
}

/// The owner's upstream call. A 2xx answer becomes the value to cache and share;
/// anything else is kept in `unshared` for the owner and reported to the pipeline.
async fn fetch(
    next: Next<'_>,
    req: reqwest::Request,
    extensions: &mut Extensions,
    keep: &[HeaderName],
    unshared: &mut Option<reqwest_middleware::Result<reqwest::Response>>,
) -> Result<CachedResponse, UpstreamError> {
    let response = match next.run(req, extensions).await {
        Ok(response) => response,
        Err(e) => {
            let failure = NotShared::Transport(e.to_string());
            *unshared = Some(Err(e));
            return Err(UpstreamError::Failed(Box::new(failure)));
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
    let headers = keep
        .iter()
        .flat_map(|name| {
            response.headers().get_all(name).iter().filter_map(|v| {
                v.to_str()
                    .ok()
                    .map(|v| (name.as_str().to_owned(), v.to_owned()))
            })
        })
        .collect();
    match response.bytes().await {
        Ok(body) => Ok(CachedResponse::new(status, headers, body)),
        Err(e) => {
            let failure = NotShared::Transport(e.to_string());
            *unshared = Some(Err(e.into()));
            Err(UpstreamError::Failed(Box::new(failure)))
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

/// How the pipeline served a response (a response extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served {
    /// Who answered.
    pub by: ServedBy,
    /// Rate-limit denials the owner waited out before calling upstream.
    pub rate_limit_waits: u32,
    /// Whether a shared store was unavailable and the pipeline's outage fallback served.
    pub degraded: bool,
}

/// Reads how a response was served. Both are `None` for responses that did not come
/// out of the pipeline (other methods, or the owner's own non-2xx answer).
pub trait ResponseExt {
    /// Who answered.
    fn served_by(&self) -> Option<ServedBy>;
    /// Who answered, the owner's waits and whether the pipeline was degraded.
    fn served(&self) -> Option<Served>;
}

impl ResponseExt for reqwest::Response {
    fn served_by(&self) -> Option<ServedBy> {
        self.extensions().get::<ServedBy>().copied()
    }

    fn served(&self) -> Option<Served> {
        self.extensions().get::<Served>().copied()
    }
}

//! [`StoreMiddleware`]: the reqwest-middleware adapter over [`HttpPipeline`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use comic_vine_http::{HttpPipeline, Outcome, Served, UpstreamResponse};
use comic_vine_store::Priority;
use comic_vine_store::pipeline::ServedBy;
use http::{Extensions, HeaderMap, StatusCode, Uri};
use reqwest::Url;
use reqwest_middleware::{Middleware, Next};

/// A boxed, sendable future.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A `reqwest_middleware` layer answering GET requests through an [`HttpPipeline`]:
/// from the cache, by joining an identical request in flight (in this process or, on
/// shared stores, another), or by calling upstream within the rate limit; every other
/// request passes through untouched. See [`HttpPipeline`] for the rules (key,
/// credentials, what is cached, the 429/420 cooldown), which are the same as the tower
/// layer's.
///
/// - A request's priority is the [`Priority`] request extension
///   (`RequestBuilder::with_extension`), else the [`HttpPipeline`]'s default.
/// - Pipeline responses carry [`ServedBy`] and [`Served`] as response extensions (see
///   [`ResponseExt`]) and [`ServedBy`] in the
///   [`SERVED_BY_HEADER`](crate::SERVED_BY_HEADER) header.
/// - Pipeline failures (a store error, a rate-limit wait over `max_wait`, a joined
///   request that failed) are `reqwest_middleware::Error::Middleware` whose error
///   downcasts to [`PipelineError`](comic_vine_store::pipeline::PipelineError), in the
///   context of the endpoint (never the query).
/// - Stale-while-revalidate: a stale answer within its window is served at once and
///   refreshed in the background (one refresh per key across the fleet, at `Background`
///   priority, skipped when the budget is spent). The refresh outlives the request, so
///   it cannot go on through the middleware chain (`Next<'_>` borrows it): it is sent
///   by the [`refresh_client`](Self::refresh_client) (default: a plain
///   `reqwest::Client`), with the request's URL and headers plus the stale entry's
///   validators, and does not pass through the other middlewares (their auth, retries,
///   tracing) nor the request's extensions; it carries no body. The same client fetches
///   again, unconditionally, after a `304` that validates nothing (see
///   [`HttpPipeline::execute_refreshing`]).
#[derive(Clone, Debug)]
pub struct StoreMiddleware {
    http: Arc<HttpPipeline>,
    refresh: Option<reqwest::Client>,
}

impl StoreMiddleware {
    /// A middleware over `http`: an `Arc<Pipeline<CachedResponse>>` (with the
    /// [`HttpPipeline`] defaults) or a configured [`HttpPipeline`]; background
    /// refreshes through a plain `reqwest::Client` (none if it cannot be built).
    pub fn new(http: impl Into<HttpPipeline>) -> Self {
        let refresh = reqwest::Client::builder()
            .build()
            .inspect_err(|e| tracing::warn!(error = %e, "no client for background refreshes"))
            .ok();
        Self {
            http: Arc::new(http.into()),
            refresh,
        }
    }

    /// Sends the background refreshes (stale-while-revalidate) through `client`, e.g.
    /// the one under the middleware chain, for its TLS and proxy settings.
    pub fn refresh_client(mut self, client: reqwest::Client) -> Self {
        self.refresh = Some(client);
        self
    }

    /// The key of `request` in the cache and dedupe stores (meaningful for GET).
    pub fn request_hash(&self, request: &reqwest::Request) -> Option<String> {
        self.http
            .request_hash(&uri(request.url())?, request.headers())
    }
}

/// `url` as an `http::Uri` (reqwest sends every request through one).
fn uri(url: &Url) -> Option<Uri> {
    Uri::try_from(url.as_str()).ok()
}

/// A reqwest response as the shared logic reads it.
struct Upstream(reqwest::Response);

impl UpstreamResponse for Upstream {
    type Error = reqwest_middleware::Error;

    fn status(&self) -> StatusCode {
        self.0.status()
    }

    fn headers(&self) -> &HeaderMap {
        self.0.headers()
    }

    async fn into_bytes(self) -> Result<Bytes, Self::Error> {
        Ok(self.0.bytes().await?)
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
        let priority = extensions.get::<Priority>().copied();
        let prepared = uri(req.url()).and_then(|uri| {
            self.http
                .prepare(req.method(), &uri, req.headers(), priority)
        });
        let Some(prepared) = prepared else {
            return next.run(req, extensions).await;
        };
        let url = req.url().clone();
        let outcome = match self.refresh.clone() {
            Some(client) => {
                let refresh = refresh_call(client, &req);
                let upstream = upstream_call(req, extensions, next);
                self.http
                    .execute_refreshing(&prepared, upstream, refresh)
                    .await
            }
            None => {
                let upstream = upstream_call(req, extensions, next);
                self.http.execute_conditional(&prepared, upstream).await
            }
        };
        match outcome {
            Outcome::Served(response) => Ok(into_reqwest(response, url)),
            Outcome::Upstream(answer) => answer.map(|upstream| upstream.0),
            Outcome::Failed(e) => {
                let context = e.to_string();
                Err(reqwest_middleware::Error::Middleware(
                    anyhow::Error::new(e.into_pipeline_error()).context(context),
                ))
            }
        }
    }
}

/// The call down the middleware chain, with the conditional headers it is handed.
fn upstream_call<'a>(
    mut req: reqwest::Request,
    extensions: &'a mut Extensions,
    next: Next<'a>,
) -> impl FnOnce(&HeaderMap) -> BoxFuture<'a, reqwest_middleware::Result<Upstream>> {
    move |conditional: &HeaderMap| {
        for (name, value) in conditional {
            req.headers_mut().insert(name, value.clone());
        }
        Box::pin(async move { next.run(req, extensions).await.map(Upstream) })
    }
}

/// The call sending `req` again through `client` (its method, URL, headers and timeout,
/// no body), with the conditional headers it is handed.
fn refresh_call(
    client: reqwest::Client,
    req: &reqwest::Request,
) -> impl FnOnce(HeaderMap) -> BoxFuture<'static, reqwest_middleware::Result<Upstream>>
+ Clone
+ Send
+ 'static {
    let (method, url) = (req.method().clone(), req.url().clone());
    let (headers, timeout) = (req.headers().clone(), req.timeout().copied());
    move |conditional: HeaderMap| {
        let mut again = reqwest::Request::new(method, url);
        *again.headers_mut() = headers;
        *again.timeout_mut() = timeout;
        for (name, value) in &conditional {
            again.headers_mut().insert(name, value.clone());
        }
        Box::pin(async move { Ok(Upstream(client.execute(again).await?)) })
    }
}

/// A pipeline response as a `reqwest::Response` for `url`.
fn into_reqwest(response: http::Response<Bytes>, url: Url) -> reqwest::Response {
    use reqwest::ResponseBuilderExt as _;

    let (mut parts, body) = response.into_parts();
    // `url` reaches the reqwest response through this builder's extension.
    if let Ok(with_url) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(with_url.into_parts().0.extensions);
    }
    reqwest::Response::from(http::Response::from_parts(parts, body))
}

/// Reads how a `reqwest::Response` was served. Both are `None` for responses that did
/// not come out of the pipeline (other methods, or the owner's own non-2xx answer).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CachedResponse, SERVED_BY_HEADER};

    #[tokio::test]
    async fn a_pipeline_response_becomes_a_reqwest_response_for_its_url() {
        let served = Served {
            by: ServedBy::Cache,
            rate_limit_waits: 0,
            degraded: false,
            age: std::time::Duration::from_secs(7),
            stale: None,
        };
        let cached = CachedResponse::new(
            StatusCode::OK,
            vec![("content-type".to_owned(), "application/json".to_owned())],
            Bytes::from_static(b"{}"),
        );
        let url = Url::parse("http://127.0.0.1:1/api/issues/").unwrap();
        let r = into_reqwest(cached.into_http(served), url.clone());
        assert_eq!(r.url(), &url);
        assert_eq!(r.served(), Some(served));
        assert_eq!(r.headers()[SERVED_BY_HEADER], "cache");
        assert_eq!(r.headers()["age"], "7");
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.text().await.unwrap(), "{}");
    }
}

//! [`StoreLayer`] and [`StoreService`]: the tower adapter over [`HttpPipeline`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use comic_vine_http::{BoxError, HttpPipeline, Outcome};
use comic_vine_store::Priority;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{Either, Full};
use tower_layer::Layer;
use tower_service::Service;

/// The body of a [`StoreService`] response: the pipeline's (`Left`, from the cache, a
/// joined request or this caller's shared upstream call) or the inner service's own,
/// unchanged (`Right`: other methods, or an upstream answer that was not shared).
pub type StoreBody<B> = Either<Full<Bytes>, B>;

/// A [`Layer`] wrapping a service in a [`StoreService`].
#[derive(Clone, Debug)]
pub struct StoreLayer {
    http: Arc<HttpPipeline>,
}

impl StoreLayer {
    /// A layer over `http`: an `Arc<Pipeline<CachedResponse>>` (with the
    /// [`HttpPipeline`] defaults) or a configured [`HttpPipeline`].
    pub fn new(http: impl Into<HttpPipeline>) -> Self {
        Self {
            http: Arc::new(http.into()),
        }
    }
}

impl<S> Layer<S> for StoreLayer {
    type Service = StoreService<S>;

    fn layer(&self, inner: S) -> StoreService<S> {
        StoreService {
            inner,
            http: Arc::clone(&self.http),
        }
    }
}

/// A tower service answering GET requests through an [`HttpPipeline`] (from the cache,
/// by joining an identical request in flight, or by calling `inner` within the rate
/// limit); every other request goes to `inner` untouched. See [`HttpPipeline`] for the
/// rules, which are the same as the reqwest middleware's.
///
/// - A request's priority is its [`Priority`] request extension, else the
///   [`HttpPipeline`]'s default.
/// - Pipeline responses carry [`ServedBy`](comic_vine_store::pipeline::ServedBy) and
///   [`Served`](comic_vine_http::Served) as response extensions (see
///   [`ResponseExt`](comic_vine_http::ResponseExt)) and the
///   [`SERVED_BY_HEADER`](comic_vine_http::SERVED_BY_HEADER) header.
/// - Errors are boxed: the inner service's error (downcast to it), or a
///   [`comic_vine_http::Error`] when the pipeline failed (a store error, a rate-limit
///   wait over `max_wait`, a joined request that failed).
/// - `inner` is called, after its `poll_ready`, only if this request makes the upstream
///   call, which may be after a rate-limit wait.
/// - Stale-while-revalidate: a stale answer within its window is served at once and
///   refreshed in the background (one refresh per key across the fleet, at `Background`
///   priority, skipped when the budget is spent) by a clone of `inner`, readied with
///   `poll_ready`, sent a GET with the same URI and headers, the stale entry's
///   validators and an empty (`Default`) body. The same call fetches again,
///   unconditionally, after a `304` that validates nothing (see
///   [`HttpPipeline::execute_refreshing`]).
#[derive(Clone, Debug)]
pub struct StoreService<S> {
    inner: S,
    http: Arc<HttpPipeline>,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for StoreService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqB: Default + Send + 'static,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<StoreBody<ResB>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        // The service driven to readiness serves this request; a clone the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let priority = request.extensions().get::<Priority>().copied();
        let prepared =
            self.http
                .prepare(request.method(), request.uri(), request.headers(), priority);
        let Some(prepared) = prepared else {
            let response = inner.call(request);
            return Box::pin(
                async move { Ok(response.await.map_err(Into::into)?.map(Either::Right)) },
            );
        };
        let http = Arc::clone(&self.http);
        let refresh = refresh_call(self.inner.clone(), &request);
        Box::pin(async move {
            let mut request = request;
            let upstream = |conditional: &http::HeaderMap| {
                for (name, value) in conditional {
                    request.headers_mut().insert(name, value.clone());
                }
                async move { inner.call(request).await.map_err(Into::into) }
            };
            match http.execute_refreshing(&prepared, upstream, refresh).await {
                Outcome::Served(response) => Ok(response.map(|body| Either::Left(Full::new(body)))),
                Outcome::Upstream(answer) => answer.map(|response| response.map(Either::Right)),
                Outcome::Failed(e) => Err(Box::new(e) as BoxError),
            }
        })
    }
}

/// The answer of a background refresh's call.
type Sent<B> = Pin<Box<dyn Future<Output = Result<Response<B>, BoxError>> + Send>>;

/// The background refresh of `request`: `inner` sent a GET with its URI and headers plus
/// the conditional ones it is handed, and an empty body.
fn refresh_call<S, ReqB, ResB>(
    mut inner: S,
    request: &Request<ReqB>,
) -> impl FnOnce(http::HeaderMap) -> Sent<ResB> + Clone + Send + 'static
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqB: Default + Send + 'static,
    ResB: 'static,
{
    let (uri, headers) = (request.uri().clone(), request.headers().clone());
    move |conditional| {
        let mut request = Request::new(ReqB::default());
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        for (name, value) in &conditional {
            request.headers_mut().insert(name, value.clone());
        }
        Box::pin(async move {
            std::future::poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(Into::into)?;
            inner.call(request).await.map_err(Into::into)
        })
    }
}

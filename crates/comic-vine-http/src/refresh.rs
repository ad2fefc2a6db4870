//! [`HttpPipeline::execute_refreshing`]: stale-while-revalidate through an HTTP layer.
//!
//! The pipeline answers a stale entry within its `stale-while-revalidate` window at
//! once and refreshes it in the background, once per key across the fleet (through the
//! dedupe store), at `Background` priority, skipped when the rate-limit budget is spent.
//! That refresh outlives the request that started it, so it cannot borrow the adapter's
//! upstream call (reqwest-middleware's `Next<'_>`): the adapter hands a second,
//! owning call (a clone of its inner service, or a client it was given), which this
//! module turns into the pipeline's [`Refresher`] for that one request. The same call
//! fetches again, unconditionally, after a `304` that validates nothing.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use comic_vine_store::pipeline::{RefreshFuture, Refresher, Request, UpstreamError};
use futures_util::future::Either;
use http::HeaderMap;

use crate::http_pipeline::Prepared;
use crate::retry::RetryPolicy;
use crate::{CachedResponse, HttpPipeline, Outcome, UpstreamResponse};

impl HttpPipeline {
    /// As [`execute_conditional`](Self::execute_conditional), with `refresh` for a
    /// background refresh: if the stored answer is stale within its
    /// `stale-while-revalidate` window, this caller is answered from it at once
    /// ([`ServedBy::Stale`](comic_vine_store::pipeline::ServedBy::Stale)) and, unless
    /// one already runs for the key (here or, through the dedupe store, in another
    /// process), `refresh` is called in the background with the stale entry's
    /// validators (`If-None-Match`, `If-Modified-Since`) to add to the request. It owns
    /// what it needs: it runs after this call returns. It is granted by the rate limiter
    /// at `Background` priority only if a slot is free (never waiting); its answer is
    /// stored under the same rules as any other, a `304` restamps the entry.
    ///
    /// A `304` that validates nothing (no stored entry, or another `ETag`) is not handed
    /// to a caller whose own request was not conditional: the request goes through the
    /// pipeline once more, unconditionally (a second rate-limit slot), sent by a clone
    /// of `refresh`. A caller that sent `If-None-Match`/`If-Modified-Since` itself gets
    /// upstream's `304`.
    pub async fn execute_refreshing<R, F, Fut, G, GFut>(
        &self,
        prepared: &Prepared,
        upstream: F,
        refresh: G,
    ) -> Outcome<R, R::Error>
    where
        R: UpstreamResponse + 'static,
        R::Error: 'static,
        F: FnOnce(&HeaderMap) -> Fut,
        Fut: Future<Output = Result<R, R::Error>>,
        G: FnOnce(HeaderMap) -> GFut + Clone + Send + 'static,
        GFut: Future<Output = Result<R, R::Error>> + Send + 'static,
    {
        let refresher = self.refresher(prepared, refresh.clone());
        let mut once = Some(upstream);
        let send = move |conditional: &HeaderMap| {
            Some(match once.take() {
                Some(first) => Either::Left(first(conditional)),
                None => Either::Right(refresh.clone()(conditional.clone())),
            })
        };
        self.run(prepared, &RetryPolicy::none(), send, Some(refresher), true)
            .await
    }

    /// The pipeline's [`Refresher`] for `prepared`, calling `refresh` at most once.
    fn refresher<R, G, GFut>(
        &self,
        prepared: &Prepared,
        refresh: G,
    ) -> Arc<dyn Refresher<CachedResponse>>
    where
        R: UpstreamResponse + 'static,
        R::Error: 'static,
        G: FnOnce(HeaderMap) -> GFut + Send + 'static,
        GFut: Future<Output = Result<R, R::Error>> + Send + 'static,
    {
        let slot = Mutex::new(Some(refresh));
        let (http, prepared) = (self.clone(), prepared.clone());
        let refresher = move |_: &Request, cached: Option<&CachedResponse>| {
            let call = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
            let (http, prepared, cached) = (http.clone(), prepared.clone(), cached.cloned());
            let refreshed: RefreshFuture<CachedResponse> = Box::pin(async move {
                let Some(call) = call else {
                    return Err(UpstreamError::Failed(
                        "this request's refresh call was already used".into(),
                    ));
                };
                http.refreshed(&prepared, call, cached).await
            });
            refreshed
        };
        Arc::new(refresher)
    }

    /// The refresh call's answer as the pipeline takes it: the value to store, or
    /// [`UpstreamError::NotModifiedFor`] with the freshness of a `304`'s headers.
    async fn refreshed<R, G, GFut>(
        &self,
        prepared: &Prepared,
        refresh: G,
        cached: Option<CachedResponse>,
    ) -> Result<CachedResponse, UpstreamError>
    where
        R: UpstreamResponse,
        G: FnOnce(HeaderMap) -> GFut,
        GFut: Future<Output = Result<R, R::Error>>,
    {
        let conditional = cached
            .as_ref()
            .map(crate::revalidation_headers)
            .unwrap_or_default();
        let mut once = Some(refresh);
        let mut send = move |c: &HeaderMap| once.take().map(|f| f(c.clone()));
        let (mut unshared, mut revalidated) = (None, None);
        let out = (&mut unshared, &mut revalidated);
        let policy = RetryPolicy::none();
        self.fetch(prepared, &policy, &mut send, out, cached, conditional)
            .await
    }
}

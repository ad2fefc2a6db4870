//! [`HttpPipeline::execute`] and [`HttpPipeline::execute_with`]: a prepared GET through
//! the [`Pipeline`](comic_vine_store::pipeline::Pipeline), with the HTTP rules that need
//! no freshness in the core: no-store and unknown freshness are not shared, `Vary` is
//! matched, oversized answers pass through, retries pass the rate limiter.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use comic_vine_store::MAX_VALUE_BYTES;
use comic_vine_store::pipeline::{Pipeline, PipelineError, Refresher, ServedBy, UpstreamError};
use http::header::{ETAG, LAST_MODIFIED};
use http::{HeaderMap, StatusCode};

use crate::http_pipeline::Prepared;
use crate::not_modified::{Out, caller_conditional};
use crate::retry::{RetryPolicy, send_with_retries};
use crate::retry_after::retry_after;
use crate::served::{Served, served_by_name};
use crate::{CachedResponse, Error, HttpPipeline, Outcome, UpstreamResponse};

/// What the owner keeps of an answer the pipeline does not share.
pub(crate) enum Unshared<R, E> {
    /// Upstream's answer or the client's error, unchanged.
    Original(Result<R, E>),
    /// A 2xx answer read whole but not storable (too large).
    Read(Box<CachedResponse>),
    /// A `304` that validates nothing, to a caller that sent no conditional request:
    /// to be fetched again unconditionally where the call can be made again (else it
    /// reaches the caller as it is).
    Refetch(Result<R, E>),
}

/// The answer to send upstream, or why it cannot be sent.
type Sent<R, E> = Result<Result<R, E>, String>;

impl HttpPipeline {
    /// Serves `prepared` through the pipeline; `upstream` (awaited only if this caller
    /// makes the upstream call) sends the request with the adapter's client. One
    /// attempt: see [`execute_with`](Self::execute_with) for retries.
    ///
    /// A 2xx answer is shared and cached, with the freshness its headers give
    /// ([`HttpEntryPolicy`](crate::HttpEntryPolicy)), unless its headers forbid it or its freshness
    /// cannot be known ([`freshness`](Self::freshness): `no-store`, `private`,
    /// `Vary: *`, unreadable `Cache-Control`; also `no-cache` and answers stale on
    /// arrival that carry no validators), or it is over
    /// [`MAX_VALUE_BYTES`] stored: then it reaches this caller uncached. A stored answer
    /// whose `Vary` headers do not match this request is not served: the request goes
    /// through the pipeline again under a key that adds the varied values.
    pub async fn execute<R, Fut>(&self, prepared: &Prepared, upstream: Fut) -> Outcome<R, R::Error>
    where
        R: UpstreamResponse,
        Fut: Future<Output = Result<R, R::Error>>,
    {
        self.execute_conditional(prepared, |_: &HeaderMap| upstream)
            .await
    }

    /// As [`execute`](Self::execute), revalidating: `upstream` is handed the headers
    /// to add to the request (`If-None-Match`, `If-Modified-Since` of the stale entry
    /// being refreshed; empty otherwise). A `304` to them keeps the stored body: the
    /// entry is restamped by the cache store's `touch` (no rewrite of the value) and
    /// answered as [`ServedBy::Revalidated`].
    pub async fn execute_conditional<R, F, Fut>(
        &self,
        prepared: &Prepared,
        upstream: F,
    ) -> Outcome<R, R::Error>
    where
        R: UpstreamResponse,
        F: FnOnce(&HeaderMap) -> Fut,
        Fut: Future<Output = Result<R, R::Error>>,
    {
        let mut once = Some(upstream);
        let send = move |conditional: &HeaderMap| once.take().map(|f| f(conditional));
        self.run(prepared, &RetryPolicy::none(), send, None, false)
            .await
    }

    /// As [`execute_conditional`](Self::execute_conditional), with `send` making each
    /// upstream attempt: retried by the [`retries`](Self::retries) policy (transport
    /// errors, 5xx, 429), each retry granted by the rate-limit hook first, none waiting
    /// past the [`deadline`](Prepared::with_deadline). Every attempt is handed the same
    /// conditional headers: a revalidation retried after a 503 stays conditional.
    pub async fn execute_with<R, F, Fut>(
        &self,
        prepared: &Prepared,
        mut send: F,
    ) -> Outcome<R, R::Error>
    where
        R: UpstreamResponse,
        F: FnMut(&HeaderMap) -> Fut,
        Fut: Future<Output = Result<R, R::Error>>,
    {
        let policy = if self.acquire.is_some() {
            self.retry.clone()
        } else {
            RetryPolicy::none()
        };
        self.run(
            prepared,
            &policy,
            move |c: &HeaderMap| Some(send(c)),
            None,
            true,
        )
        .await
    }

    /// The request through the pipeline (with `refresher` for its stale-while-revalidate
    /// refresh, if given): a second pass under the variant's key when the stored answer
    /// varies on other header values, and (if `again`: `send` can be called more than
    /// once) another, unconditional, after a `304` that validates nothing.
    pub(crate) async fn run<R, Fut>(
        &self,
        prepared: &Prepared,
        policy: &RetryPolicy,
        mut send: impl FnMut(&HeaderMap) -> Option<Fut>,
        refresher: Option<Arc<dyn Refresher<CachedResponse>>>,
        again: bool,
    ) -> Outcome<R, R::Error>
    where
        R: UpstreamResponse,
        Fut: Future<Output = Result<R, R::Error>>,
    {
        let endpoint = &prepared.endpoint;
        let refreshing;
        let pipeline = match refresher {
            Some(refresher) => {
                refreshing = Pipeline::clone(&self.pipeline).with_refresher(refresher);
                &refreshing
            }
            None => &*self.pipeline,
        };
        let mut request = prepared.request.clone();
        let (mut pass, mut unconditional) = (0, false);
        while pass < 2 {
            let (mut unshared, mut revalidated) = (None, None);
            let result = pipeline
                .execute_revalidating(&request, |cached| {
                    let cached = cached.cloned().filter(|_| !unconditional);
                    let conditional = cached
                        .as_ref()
                        .map(crate::revalidation_headers)
                        .unwrap_or_default();
                    let out = (&mut unshared, &mut revalidated);
                    self.fetch(prepared, policy, &mut send, out, cached, conditional)
                })
                .await;
            match (result, unshared) {
                (Ok(response), _) => {
                    if response.served_by != ServedBy::Upstream
                        && !response.value.vary_matches(&prepared.headers)
                    {
                        tracing::debug!(%endpoint, pass, "stored answer varies on other header values");
                        if pass == 0 {
                            request = prepared.variant(&response.value);
                            pass += 1;
                            continue;
                        }
                        break;
                    }
                    let served = Served {
                        by: response.served_by,
                        rate_limit_waits: response.rate_limit_waits,
                        degraded: response.degraded,
                        age: response.age,
                        stale: response.stale,
                    };
                    tracing::debug!(%endpoint, served_by = served_by_name(served.by), "served through the stores");
                    // A 304 this caller received: its headers merged into the stored ones.
                    let value = match (served.by, revalidated) {
                        (ServedBy::Revalidated, Some(merged)) => merged,
                        _ => response.value,
                    };
                    return Outcome::Served(value.into_http(served));
                }
                (Err(e), Some(Unshared::Original(original))) => {
                    tracing::debug!(%endpoint, error = %e, "upstream answer not shared");
                    return Outcome::Upstream(original);
                }
                (Err(e), Some(Unshared::Read(read))) => {
                    tracing::debug!(%endpoint, error = %e, "upstream answer passed through uncached");
                    let served = Served {
                        by: ServedBy::Upstream,
                        rate_limit_waits: 0,
                        degraded: self.pipeline.is_degraded(),
                        age: Duration::ZERO,
                        stale: None,
                    };
                    return Outcome::Served((*read).into_http(served));
                }
                (Err(e), Some(Unshared::Refetch(original))) => {
                    if !again || unconditional {
                        tracing::debug!(%endpoint, error = %e, "a 304 that validates nothing: passed through");
                        return Outcome::Upstream(original);
                    }
                    tracing::debug!(%endpoint, "a 304 that validates nothing: fetching again, unconditionally");
                    unconditional = true;
                }
                (Err(e), _) => return Outcome::Failed(Error::new(endpoint.clone(), e)),
            }
        }
        // The variant's entry varies on yet other headers (upstream's Vary changed):
        // ask upstream directly, through the rate-limit hook, uncached.
        match self
            .send(prepared, policy, &mut send, false, &HeaderMap::new())
            .await
        {
            Ok(answer) => Outcome::Upstream(answer),
            Err(e) => Outcome::Failed(Error::new(
                endpoint.clone(),
                PipelineError::Upstream {
                    context: format!("uncached request for `{endpoint}`"),
                    source: UpstreamError::Failed(e.into()),
                },
            )),
        }
    }

    /// Sends with retries; the first attempt is granted by the pipeline when
    /// `granted`, else by the hook like the others.
    async fn send<R, Fut>(
        &self,
        prepared: &Prepared,
        policy: &RetryPolicy,
        send: &mut impl FnMut(&HeaderMap) -> Option<Fut>,
        granted: bool,
        conditional: &HeaderMap,
    ) -> Sent<R, R::Error>
    where
        R: UpstreamResponse,
        Fut: Future<Output = Result<R, R::Error>>,
    {
        let mut skip = granted;
        let resource = prepared.request.resource().to_owned();
        let acquire = || {
            let hook = (!std::mem::replace(&mut skip, false))
                .then(|| self.acquire.clone())
                .flatten();
            let (resource, priority) = (resource.clone(), prepared.priority);
            async move {
                match hook {
                    Some(hook) => hook(&resource, priority).await,
                    None => Ok(()),
                }
            }
        };
        let attempt = || {
            let call = send(conditional);
            async move {
                match call {
                    Some(call) => call.await.map_err(Some),
                    None => Err(None),
                }
            }
        };
        let retried = send_with_retries(policy, prepared.deadline, acquire, attempt).await;
        match retried.result {
            Ok(Ok(response)) => Ok(Ok(response)),
            Ok(Err(Some(e))) => Ok(Err(e)),
            Ok(Err(None)) => Err("the request was already sent".to_owned()),
            Err(limited) => Err(limited.0),
        }
    }

    /// The owner's upstream call (`conditional`: the validators of `cached`, the stale
    /// entry). A 2xx answer that may be stored becomes the value to cache and share;
    /// anything else is kept in `out.0` (unshared) for the owner; a `304` that validates
    /// `cached` puts it, merged with the `304`'s headers, in `out.1` (revalidated).
    pub(crate) async fn fetch<R, Fut>(
        &self,
        prepared: &Prepared,
        policy: &RetryPolicy,
        send: &mut impl FnMut(&HeaderMap) -> Option<Fut>,
        out: Out<'_, R, R::Error>,
        cached: Option<CachedResponse>,
        conditional: HeaderMap,
    ) -> Result<CachedResponse, UpstreamError>
    where
        R: UpstreamResponse,
        Fut: Future<Output = Result<R, R::Error>>,
    {
        let (unshared, revalidated) = out;
        let fail = |why: NotShared| UpstreamError::Failed(Box::new(why));
        let response = match self.send(prepared, policy, send, true, &conditional).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => {
                let failure = fail(NotShared::Transport(e.to_string()));
                *unshared = Some(Unshared::Original(Err(e)));
                return Err(failure);
            }
            Err(refused) => return Err(fail(NotShared::Refused(refused))),
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.as_u16() == 420 {
            let retry_after = retry_after(response.headers(), SystemTime::now());
            *unshared = Some(Unshared::Original(Ok(response)));
            return Err(UpstreamError::RateLimited { retry_after });
        }
        if status == StatusCode::NOT_MODIFIED && !conditional.is_empty() {
            if crate::revalidate::validates(&conditional, response.headers()) {
                tracing::debug!(endpoint = %prepared.endpoint, "upstream: not modified");
                return Err(match &cached {
                    Some(stored) => self.not_modified(
                        prepared,
                        stored,
                        response.headers(),
                        unshared,
                        revalidated,
                    ),
                    None => UpstreamError::NotModified,
                });
            }
            tracing::debug!(endpoint = %prepared.endpoint, "a 304 for another ETag than the stored one");
        }
        if status == StatusCode::NOT_MODIFIED && !caller_conditional(&prepared.headers) {
            *unshared = Some(Unshared::Refetch(Ok(response)));
            return Err(fail(NotShared::Status(status)));
        }
        if !status.is_success() || status == StatusCode::PARTIAL_CONTENT {
            *unshared = Some(Unshared::Original(Ok(response)));
            return Err(fail(NotShared::Status(status)));
        }
        let now = SystemTime::now();
        let validators = [ETAG, LAST_MODIFIED]
            .iter()
            .any(|h| response.headers().contains_key(h));
        let freshness = match self.freshness(&prepared.headers, response.headers(), now) {
            Err(reason) => Err(reason.to_string()),
            // Stale on arrival: worth keeping only to revalidate it.
            Ok(f) if f.fresh_for == Some(Duration::ZERO) && !validators => {
                Err("no-cache or stale on arrival, without validators".to_owned())
            }
            Ok(f) => Ok(f),
        };
        let freshness = match freshness {
            Ok(f) => f,
            Err(reason) => {
                tracing::debug!(endpoint = %prepared.endpoint, %reason, "not storing upstream's answer");
                *unshared = Some(Unshared::Original(Ok(response)));
                return Err(fail(NotShared::Unstorable(reason)));
            }
        };
        let headers = response.headers().clone();
        let body = match response.into_bytes().await {
            Ok(body) => body,
            Err(e) => {
                let failure = fail(NotShared::Transport(e.to_string()));
                *unshared = Some(Unshared::Original(Err(e)));
                return Err(failure);
            }
        };
        let cached = CachedResponse::from_upstream(status, &headers, &self.cached_headers, body)
            .record_vary(&headers, &prepared.headers)
            .with_freshness(freshness);
        let size = stored_size(&cached);
        if size > MAX_VALUE_BYTES {
            tracing::debug!(endpoint = %prepared.endpoint, size, "upstream's answer is too large to store");
            *unshared = Some(Unshared::Read(Box::new(cached)));
            return Err(fail(NotShared::Unstorable(format!(
                "{size} bytes stored, over {MAX_VALUE_BYTES}"
            ))));
        }
        Ok(cached)
    }
}

/// The length of `r`'s stored JSON, counted without building it.
fn stored_size(r: &CachedResponse) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, r) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// Why an upstream answer was not shared.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotShared {
    #[error("upstream answered {0}")]
    Status(StatusCode),
    #[error("request to upstream failed: {0}")]
    Transport(String),
    #[error("upstream's answer is not stored: {0}")]
    Unstorable(String),
    #[error("upstream attempt refused: {0}")]
    Refused(String),
}

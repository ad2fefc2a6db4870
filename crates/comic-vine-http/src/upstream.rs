//! [`UpstreamResponse`]: what the shared logic reads of a client's upstream answer, and
//! [`Outcome`]: what it hands back to the adapter.

use std::future::Future;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body::Body;
use http_body_util::BodyExt as _;

use crate::Error;

/// A boxed error, as tower and the body crates use them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A client's upstream response as the shared logic reads it: the status and headers,
/// then (for a 2xx answer to keep) the whole body.
pub trait UpstreamResponse: Sized + Send {
    /// The client's error for a failed request or body (what the owner gets back).
    type Error: std::fmt::Display + Send;

    /// The status code.
    fn status(&self) -> StatusCode;

    /// The headers.
    fn headers(&self) -> &HeaderMap;

    /// The whole body.
    fn into_bytes(self) -> impl Future<Output = Result<Bytes, Self::Error>> + Send;
}

/// Any `http::Response` with a body (e.g. hyper's `Incoming`); body errors are boxed.
impl<B> UpstreamResponse for http::Response<B>
where
    B: Body + Send,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Error = BoxError;

    fn status(&self) -> StatusCode {
        self.status()
    }

    fn headers(&self) -> &HeaderMap {
        self.headers()
    }

    async fn into_bytes(self) -> Result<Bytes, BoxError> {
        Ok(self
            .into_body()
            .collect()
            .await
            .map_err(Into::into)?
            .to_bytes())
    }
}

/// What a request sent through [`HttpPipeline::execute`](crate::HttpPipeline::execute)
/// comes to.
#[derive(Debug)]
pub enum Outcome<R, E> {
    /// The pipeline answered (cache, dedupe join or this caller's upstream call): the
    /// rebuilt response, marked with how it was served.
    Served(http::Response<Bytes>),
    /// This caller made the upstream call and it was not shared (a non-2xx answer or a
    /// failure): upstream's answer or the client's error, unchanged.
    Upstream(Result<R, E>),
    /// The pipeline failed: a store error, a rate-limit wait over `max_wait`, or a
    /// joined request that failed.
    Failed(Error),
}

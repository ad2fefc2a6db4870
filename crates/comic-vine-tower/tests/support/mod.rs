//! What the tower layer tests share: the [`Tower`] driver of the shared scenarios
//! (`comic-vine-testkit`), hyper-util clients wrapped in the layer, GETs.

#![allow(dead_code)] // Each test binary uses its own part of this.

use std::sync::Arc;

use bytes::Bytes;
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, PipelineError};
use comic_vine_testkit::{Answer, Driver, Stores};
use comic_vine_tower::{CachedResponse, ResponseExt, StoreLayer, StoreService};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::{BoxError, Layer, ServiceExt};

/// hyper-util's client under the store layer.
pub type HttpClient = StoreService<Client<HttpConnector, Full<Bytes>>>;

/// The shared scenarios driven through hyper-util's client under the store layer.
pub struct Tower;

impl Driver for Tower {
    type Client = HttpClient;
    type Error = BoxError;

    fn from_pipeline(pipeline: Pipeline<CachedResponse>) -> HttpClient {
        StoreLayer::new(Arc::new(pipeline)).layer(hyper_client())
    }

    async fn get(client: &HttpClient, url: &str) -> Result<Answer, BoxError> {
        get(client, url).await
    }

    fn pipeline_error(err: &BoxError) -> Option<&PipelineError> {
        pipeline_error(err)
    }

    fn message(err: &BoxError) -> String {
        err.to_string()
    }
}

/// A plain hyper-util client (HTTP/1, no TLS).
pub fn hyper_client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A client whose GETs go through a pipeline over `stores`.
pub fn client(stores: Stores, config: PipelineConfig) -> HttpClient {
    Tower::from_pipeline(stores.pipeline(config))
}

/// Sends `request` through `client` and reads the whole answer.
pub async fn send(client: &HttpClient, request: Request<Full<Bytes>>) -> Result<Answer, BoxError> {
    let response = client.clone().oneshot(request).await?;
    let (served, served_by) = (response.served(), response.served_by());
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        served,
        served_by,
        body: String::from_utf8(body.to_vec())?,
    })
}

/// `method url` with an empty body.
pub fn request(method: Method, url: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(url)
        .body(Full::default())
        .unwrap()
}

/// GETs `url` through `client`.
pub async fn get(client: &HttpClient, url: &str) -> Result<Answer, BoxError> {
    send(client, request(Method::GET, url)).await
}

/// The pipeline error inside a layer error, if it is one.
pub fn pipeline_error(e: &BoxError) -> Option<&PipelineError> {
    e.downcast_ref::<comic_vine_tower::Error>()
        .map(comic_vine_tower::Error::pipeline_error)
}

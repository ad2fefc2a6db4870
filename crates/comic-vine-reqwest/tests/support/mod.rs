//! What the middleware tests share: the [`Reqwest`] driver of the shared scenarios
//! (`comic-vine-testkit`) and a plain reqwest client.

#![allow(dead_code)] // Each test binary uses its own part of this.

use std::sync::Arc;

use comic_vine_reqwest::{CachedResponse, ResponseExt, StoreMiddleware};
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, PipelineError};
use comic_vine_testkit::{Answer, Driver, Stores};
use reqwest_middleware::ClientWithMiddleware;

/// The shared scenarios driven through reqwest under the store middleware.
pub struct Reqwest;

impl Driver for Reqwest {
    type Client = ClientWithMiddleware;
    type Error = reqwest_middleware::Error;

    fn from_pipeline(pipeline: Pipeline<CachedResponse>) -> ClientWithMiddleware {
        middleware_client(pipeline)
    }

    async fn get(client: &ClientWithMiddleware, url: &str) -> Result<Answer, Self::Error> {
        let response = client.get(url).send().await?;
        let (status, headers) = (response.status(), response.headers().clone());
        let (served, served_by) = (response.served(), response.served_by());
        Ok(Answer {
            status,
            headers,
            served,
            served_by,
            body: response.text().await?,
        })
    }

    fn pipeline_error(err: &Self::Error) -> Option<&PipelineError> {
        match err {
            reqwest_middleware::Error::Middleware(e) => e.downcast_ref::<PipelineError>(),
            reqwest_middleware::Error::Reqwest(_) => None,
        }
    }

    fn message(err: &Self::Error) -> String {
        match err {
            reqwest_middleware::Error::Middleware(e) => format!("{e:#}"),
            reqwest_middleware::Error::Reqwest(e) => e.to_string(),
        }
    }
}

/// A plain reqwest client.
pub fn reqwest_client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A client whose GETs go through a pipeline over `stores`.
pub fn client(stores: Stores, config: PipelineConfig) -> ClientWithMiddleware {
    middleware_client(stores.pipeline(config))
}

/// A client whose GETs go through `pipeline`.
pub fn middleware_client(pipeline: Pipeline<CachedResponse>) -> ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest_client())
        .with(StoreMiddleware::new(Arc::new(pipeline)))
        .build()
}

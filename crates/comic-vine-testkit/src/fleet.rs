//! What the fleet tests of stale-while-revalidate share (in-process clients on
//! DynamoDB Local, OS processes on DynamoDB Local or one SQLite file): one key stored
//! stale, the configuration that serves it, and what every answer must be.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_http::{CachedResponse, HttpPipeline, SERVED_BY_HEADER};
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, ServedBy, StalePolicy, StaleReason};
use comic_vine_store::{CacheStore, Freshness};
use comic_vine_stub::StubApi;
use http::{HeaderMap, StatusCode};

use crate::{Answer, Driver};

/// Ten minutes of `stale-while-revalidate` and nothing else stale.
pub fn swr_config() -> PipelineConfig {
    PipelineConfig {
        stale: StalePolicy {
            stale_while_revalidate: STALE_WINDOW,
            ..StalePolicy::none()
        },
        ..PipelineConfig::default()
    }
}

/// How long [`store_stale_entry`]'s entry may be served stale.
const STALE_WINDOW: Duration = Duration::from_secs(600);

/// The body of [`store_stale_entry`]'s entry.
pub const STALE_BODY: &str = r#"{"stale":true}"#;

/// Stores [`STALE_BODY`] in `cache` as the entry of a GET of `url`, stale already and
/// within [`swr_config`]'s window.
pub async fn store_stale_entry(cache: &dyn CacheStore<CachedResponse>, url: &str) {
    let pipeline = Pipeline::<CachedResponse>::builder().build();
    let uri: http::Uri = url.parse().unwrap();
    let hash = HttpPipeline::new(Arc::new(pipeline))
        .request_hash(&uri, &HeaderMap::new())
        .unwrap();
    let kept = vec![("content-type".to_owned(), "application/json".to_owned())];
    let value = CachedResponse::new(StatusCode::OK, kept, STALE_BODY.into());
    let stale = Freshness::fresh_for(Some(Duration::ZERO)).with_stale_for(STALE_WINDOW);
    cache.set_entry(&hash, &value, stale).await.unwrap();
}

/// Asserts `answer` is [`store_stale_entry`]'s body, served stale while revalidating.
pub fn assert_served_stale_while_revalidating(answer: &Answer) {
    assert_eq!(answer.served_by, Some(ServedBy::Stale), "{answer:?}");
    let reason = answer.served.and_then(|s| s.stale);
    assert_eq!(reason, Some(StaleReason::WhileRevalidate));
    assert_eq!(answer.headers[SERVED_BY_HEADER], "stale");
    assert_eq!(answer.body, STALE_BODY);
}

/// Asserts a GET of `url` through `client` is now a hit on the refreshed entry, and the
/// stub has seen only the one refresh.
pub async fn assert_refreshed<D: Driver>(client: &D::Client, url: &str, api: &StubApi) {
    let after = D::get(client, url).await.unwrap();
    assert_eq!(after.served_by, Some(ServedBy::Cache), "{after:?}");
    assert!(after.body.contains("\"results\""), "{}", after.body);
    assert_eq!(api.total_calls(), 1);
}

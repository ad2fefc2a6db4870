//! Two GETs through `StoreMiddleware` on a reqwest 0.13 client, with different API keys:
//! exits 0 only if the second is a cache hit. The API's base URL is the first argument.

use std::process::ExitCode;
use std::sync::Arc;

use comic_vine_reqwest::{CachedResponse, ResponseExt, StoreMiddleware};
use comic_vine_store::RateLimitConfig;
use comic_vine_store::memory::{MemoryCacheStore, MemoryDedupeStore, MemoryRateLimitStore};
use comic_vine_store::pipeline::{Pipeline, ServedBy};

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let api = std::env::args()
        .nth(1)
        .ok_or("usage: outside-crate API_URL")?;
    let pipeline = Pipeline::<CachedResponse>::builder()
        .cache(Arc::new(MemoryCacheStore::new()))
        .dedupe(Arc::new(MemoryDedupeStore::new()))
        .rate_limit(Arc::new(MemoryRateLimitStore::new(
            RateLimitConfig::comic_vine(),
        )))
        .build();
    let client: reqwest_middleware::ClientWithMiddleware =
        reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(StoreMiddleware::new(Arc::new(pipeline)))
            .build();
    let mut served = Vec::new();
    for key in ["A", "B"] {
        let response = client
            .get(format!("{api}/issues/?api_key={key}&format=json&limit=2"))
            .send()
            .await?;
        served.push(response.served_by());
    }
    println!("served by: {served:?}");
    Ok(
        if served == [Some(ServedBy::Upstream), Some(ServedBy::Cache)] {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

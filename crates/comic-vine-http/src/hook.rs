//! [`AcquireHook`]: the rate limit every retried upstream attempt passes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use comic_vine_store::{AdaptiveRateLimitStore, Decision, RateLimitStore, StoreError};

/// The future an [`AcquireHook`] returns: `Ok` once the attempt may go, `Err` naming why
/// it may not (e.g. the wait would exceed the caller's bound).
pub type AcquireFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Grants one upstream attempt for `(resource, priority)`: what a retry passes before
/// it is sent (the pipeline itself grants the first attempt).
pub type AcquireHook = Arc<dyn Fn(&str, comic_vine_store::Priority) -> AcquireFuture + Send + Sync>;

/// A hook over a plain rate limiter: waits out denials (as the pipeline does) while the
/// total wait stays within `max_wait`.
pub fn rate_limit_hook(limiter: Arc<dyn RateLimitStore>, max_wait: Duration) -> AcquireHook {
    Arc::new(move |resource, _| {
        let (limiter, resource) = (Arc::clone(&limiter), resource.to_owned());
        Box::pin(async move {
            wait_for_grant(&resource, max_wait, || limiter.try_acquire(&resource)).await
        })
    })
}

/// A hook over an adaptive (priority-aware) rate limiter, as [`rate_limit_hook`].
pub fn adaptive_rate_limit_hook(
    limiter: Arc<dyn AdaptiveRateLimitStore>,
    max_wait: Duration,
) -> AcquireHook {
    Arc::new(move |resource, priority| {
        let (limiter, resource) = (Arc::clone(&limiter), resource.to_owned());
        Box::pin(async move {
            wait_for_grant(&resource, max_wait, || {
                limiter.try_acquire(&resource, priority)
            })
            .await
        })
    })
}

/// Asks until granted, sleeping each denial's wait; fails past `max_wait` in all.
async fn wait_for_grant<F, Fut>(
    resource: &str,
    max_wait: Duration,
    mut try_acquire: F,
) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Decision, StoreError>>,
{
    let mut waited = Duration::ZERO;
    loop {
        let decision = try_acquire().await.map_err(|e| e.to_string())?;
        if decision.granted {
            return Ok(());
        }
        if waited.saturating_add(decision.wait) > max_wait {
            return Err(format!(
                "rate limit of `{resource}`: a retry would wait {:?}, over the {max_wait:?} allowed",
                decision.wait
            ));
        }
        tokio::time::sleep(decision.wait).await;
        waited += decision.wait;
    }
}

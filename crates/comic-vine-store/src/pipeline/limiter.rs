//! The rate limit steps: wait for a slot (bounded), see whether the budget is spent
//! without taking a slot, and take one background slot without waiting.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Pipeline, PipelineError, Request, Shared};
use crate::adaptive::{AdaptiveRateLimitStore, Priority};
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::rate_limit::{Decision, RateLimitStore};

/// A limiter's answer, still to be awaited.
type LimiterAnswer<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The limiter a pipeline takes slots from.
#[derive(Clone)]
pub(super) enum Limiter {
    Plain(Arc<dyn RateLimitStore>),
    Adaptive(Arc<dyn AdaptiveRateLimitStore>),
}

impl Limiter {
    async fn try_acquire(
        &self,
        resource: &str,
        priority: Priority,
    ) -> Result<Decision, StoreError> {
        match self {
            Self::Plain(l) => l.try_acquire(resource).await,
            Self::Adaptive(l) => l.try_acquire(resource, priority).await,
        }
    }

    async fn wait_time(&self, resource: &str, priority: Priority) -> Result<Duration, StoreError> {
        match self {
            Self::Plain(l) => l.wait_time(resource).await,
            Self::Adaptive(l) => l.wait_time(resource, priority).await,
        }
    }

    pub(super) async fn cooldown(
        &self,
        resource: &str,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        match self {
            Self::Plain(l) => l.cooldown(resource, until).await,
            Self::Adaptive(l) => l.cooldown(resource, until).await,
        }
    }
}

impl<V> Pipeline<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// `ask` of the shared limiter, or of the fallback's in-process one while the
    /// shared stores are down (then `degraded` is set).
    async fn ask<'a, T>(
        &'a self,
        limiter: &'a Limiter,
        step: &str,
        degraded: &mut bool,
        ask: impl Fn(&'a Limiter) -> LimiterAnswer<'a, T>,
    ) -> Result<T, StoreError> {
        match self.shared(step, ask(limiter).await)? {
            Shared::Answered(value) => Ok(value),
            Shared::Down(fallback) => {
                *degraded = true;
                ask(&fallback.limiter).await
            }
        }
    }

    /// One decision from the shared limiter, or from the fallback's while it is down.
    async fn decide(
        &self,
        limiter: &Limiter,
        resource: &str,
        priority: Priority,
        degraded: &mut bool,
    ) -> Result<Decision, StoreError> {
        self.ask(limiter, "rate limit", degraded, |l| {
            Box::pin(l.try_acquire(resource, priority))
        })
        .await
    }

    /// Waits for a slot of `r`'s resource at its priority, at most `max_wait` in all;
    /// returns the denials waited out, or `WaitTooLong`.
    pub(super) async fn acquire(
        &self,
        r: &Request,
        degraded: &mut bool,
    ) -> Result<u32, PipelineError> {
        let Some(limiter) = &self.limiter else {
            return Ok(0);
        };
        let (mut waits, mut waited) = (0, Duration::ZERO);
        loop {
            let decision = self
                .decide(limiter, &r.resource, r.priority, degraded)
                .await?;
            if decision.granted {
                return Ok(waits);
            }
            if waited + decision.wait > self.config.max_wait {
                return Err(PipelineError::WaitTooLong {
                    resource: r.resource.clone(),
                    wait: decision.wait,
                    max_wait: self.config.max_wait,
                });
            }
            tokio::time::sleep(decision.wait).await;
            waited += decision.wait;
            waits += 1;
        }
    }

    /// Whether a slot of `r`'s resource is further away than `max_wait` (budget spent or
    /// a cooldown running), asked without taking one.
    pub(super) async fn budget_spent(
        &self,
        r: &Request,
        degraded: &mut bool,
    ) -> Result<bool, StoreError> {
        let Some(limiter) = &self.limiter else {
            return Ok(false);
        };
        let wait = self
            .ask(limiter, "rate limit wait", degraded, |l| {
                Box::pin(l.wait_time(&r.resource, r.priority))
            })
            .await?;
        Ok(wait > self.config.max_wait)
    }

    /// Takes a slot at background priority if one is free now; never waits.
    pub(super) async fn try_background(&self, r: &Request) -> Result<bool, StoreError> {
        let Some(limiter) = &self.limiter else {
            return Ok(true);
        };
        let mut degraded = false;
        let decision = self
            .decide(limiter, &r.resource, Priority::Background, &mut degraded)
            .await?;
        Ok(decision.granted)
    }
}

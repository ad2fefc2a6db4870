//! Periodic cleanup: the seed's `cleanupIntervalMs`, one implementation for every
//! backend.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::error::{StoreError, StoreResult};

/// The counter of what periodic cleanups removed (labels: `scope`).
pub const REMOVED_COUNTER: &str = "comic_vine_store_cache_cleanup_removed_total";
/// The counter of periodic cleanups that failed (labels: `scope`).
pub const FAILED_COUNTER: &str = "comic_vine_store_cache_cleanup_failures_total";

/// A background task calling a store's `cleanup` every interval (see
/// [`spawn_periodic_cleanup`]). Dropping it stops the task.
#[derive(Debug)]
pub struct CleanupTask {
    handle: JoinHandle<()>,
    scope: String,
    // Owns the task's target; the task itself only holds a `Weak`.
    _target: Arc<dyn std::any::Any + Send + Sync>,
}

impl CleanupTask {
    /// The storage this task cleans (e.g. `dynamodb cache my-table`).
    pub fn scope(&self) -> &str {
        &self.scope
    }
}

impl Drop for CleanupTask {
    fn drop(&mut self) {
        self.handle.abort();
        tracing::debug!(scope = %self.scope, "periodic cache cleanup stopped");
    }
}

/// Spawns a task on the current Tokio runtime that calls `cleanup(target)` every
/// `interval` (first after one interval, like `setInterval`), logs and counts what it
/// removed (counters `comic_vine_store_cache_cleanup_removed_total` and `comic_vine_store_cache_cleanup_failures_total`), and stops when the returned
/// [`CleanupTask`] is dropped. The task holds `target` only weakly between runs.
///
/// Runs never overlap: one task runs one cleanup at a time, and tasks of the same
/// `scope` (the same storage, e.g. two stores on one table) in this process skip a tick
/// while another of them is running. Fails with `InvalidConfig` for a zero interval or
/// outside a Tokio runtime.
pub fn spawn_periodic_cleanup<T, F, Fut>(
    target: T,
    scope: String,
    interval: Duration,
    cleanup: F,
) -> StoreResult<CleanupTask>
where
    T: Send + Sync + 'static,
    F: Fn(Arc<T>) -> Fut + Send + 'static,
    Fut: Future<Output = StoreResult<u64>> + Send,
{
    if interval.is_zero() {
        return Err(StoreError::invalid_config(
            "cleanup_interval",
            "must be greater than zero",
        ));
    }
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        StoreError::invalid_config("cleanup_interval", "needs a running Tokio runtime")
    })?;
    let target = Arc::new(target);
    let weak: Weak<T> = Arc::downgrade(&target);
    let task_scope = scope.clone();
    let handle = runtime.spawn(async move {
        let mut ticks = tokio::time::interval_at(Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(target) = weak.upgrade() else { break };
            let Some(_running) = Running::claim(&task_scope) else {
                tracing::debug!(scope = %task_scope, "periodic cache cleanup already running; tick skipped");
                continue;
            };
            let labels = [("scope", task_scope.clone())];
            match cleanup(target).await {
                Ok(removed) => {
                    metrics::counter!(REMOVED_COUNTER, &labels).increment(removed);
                    tracing::info!(scope = %task_scope, removed, "periodic cache cleanup");
                }
                Err(error) => {
                    metrics::counter!(FAILED_COUNTER, &labels).increment(1);
                    tracing::warn!(scope = %task_scope, %error, "periodic cache cleanup failed");
                }
            }
        }
    });
    tracing::debug!(scope = %scope, ?interval, "periodic cache cleanup started");
    Ok(CleanupTask {
        handle,
        scope,
        _target: target,
    })
}

/// The scopes whose periodic cleanup is running in this process.
fn running() -> &'static Mutex<HashSet<String>> {
    static RUNNING: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    RUNNING.get_or_init(Mutex::default)
}

/// A claim on a scope, released when dropped.
struct Running<'a>(&'a str);

impl<'a> Running<'a> {
    fn claim(scope: &'a str) -> Option<Self> {
        let claimed = running()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(scope.to_owned());
        // Lazily: a refused claim must not build (and so drop, releasing) a `Running`.
        claimed.then(|| Self(scope))
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        running()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(self.0);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn runs_every_interval_and_stops_when_dropped() {
        let runs = Arc::new(AtomicU64::new(0));
        let task = spawn_periodic_cleanup(
            Arc::clone(&runs),
            "test runs".to_owned(),
            Duration::from_secs(300),
            |runs| async move { Ok(runs.fetch_add(1, Ordering::SeqCst)) },
        )
        .unwrap();
        tokio::time::sleep(Duration::from_secs(299)).await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            0,
            "first run after one interval"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(
            Arc::strong_count(&runs),
            2,
            "the task holds its target once"
        );
        drop(task);
        tokio::time::sleep(Duration::from_secs(3_000)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "stopped when dropped");
        assert_eq!(Arc::strong_count(&runs), 1, "and released its target");
    }

    #[tokio::test(start_paused = true)]
    async fn tasks_of_one_scope_never_run_at_once() {
        let (active, most, runs) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
        );
        let tasks: Vec<CleanupTask> = (0..3)
            .map(|_| {
                let state = (Arc::clone(&active), Arc::clone(&most), Arc::clone(&runs));
                spawn_periodic_cleanup(
                    state,
                    "test one scope".to_owned(),
                    Duration::from_secs(1),
                    |s| async move {
                        let now = s.0.fetch_add(1, Ordering::SeqCst) + 1;
                        s.1.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(2_500)).await;
                        s.0.fetch_sub(1, Ordering::SeqCst);
                        s.2.fetch_add(1, Ordering::SeqCst);
                        Ok(0)
                    },
                )
                .unwrap()
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(tasks);
        assert!(runs.load(Ordering::SeqCst) >= 5, "ran repeatedly");
        assert_eq!(most.load(Ordering::SeqCst), 1, "never two at once");
    }

    #[test]
    fn a_zero_interval_or_no_runtime_is_a_config_error() {
        let e = spawn_periodic_cleanup((), "x".into(), Duration::from_secs(1), |_| async { Ok(0) })
            .unwrap_err();
        assert!(e.to_string().contains("Tokio runtime"), "{e}");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let e = rt
            .block_on(async {
                spawn_periodic_cleanup((), "x".into(), Duration::ZERO, |_| async { Ok(0) })
            })
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::InvalidConfig { field, .. } if field == "cleanup_interval"),
            "{e}"
        );
    }
}

//! [`execute_in_parallel`]: bounded concurrency, results in input order.

use std::future::Future;

use comic_vine_store::{StoreError, StoreResult};
use futures_util::stream::{self, StreamExt};

/// Runs `f(item)` for every item with at most `max_concurrency` futures in flight, and
/// returns their outputs in the order of `items` (not the order they finished in).
///
/// The futures run concurrently on the calling task (no `tokio::spawn`), which suits
/// I/O such as DynamoDB requests; for CPU-heavy work, spawn inside `f`. The next item
/// starts when a slot frees up; a future that finished before an earlier, slower one
/// keeps its slot until its output can be passed on in order. Every future runs to
/// completion: to treat failures, let `f` return a `Result` and collect the outputs with
/// `.into_iter().collect::<Result<Vec<_>, _>>()`.
///
/// # Errors
///
/// [`StoreError::InvalidInput`] (field `max_concurrency`) if `max_concurrency` is zero;
/// nothing runs then.
///
/// ```
/// use std::time::Duration;
/// use comic_vine_dynamodb_store::execute_in_parallel;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> comic_vine_store::StoreResult<()> {
/// let doubled = execute_in_parallel(
///     vec![3u64, 1, 2],
///     |n| async move {
///         tokio::time::sleep(Duration::from_millis(n)).await; // 1 finishes first...
///         n * 2
///     },
///     2,
/// )
/// .await?;
/// assert_eq!(doubled, [6, 2, 4]); // ...but results keep the input order
/// # Ok(()) }
/// ```
pub async fn execute_in_parallel<I, F, Fut>(
    items: I,
    f: F,
    max_concurrency: usize,
) -> StoreResult<Vec<Fut::Output>>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    if max_concurrency == 0 {
        return Err(StoreError::invalid_input(
            "max_concurrency",
            "must be at least 1",
        ));
    }
    Ok(stream::iter(items)
        .map(f)
        .buffered(max_concurrency)
        .collect()
        .await)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Counts futures in flight and the most seen at once.
    #[derive(Default)]
    struct InFlight {
        now: AtomicUsize,
        max: AtomicUsize,
    }

    impl InFlight {
        fn enter(&self) {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(now, Ordering::SeqCst);
        }

        fn leave(&self) {
            self.now.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn keeps_input_order_and_never_exceeds_the_limit() {
        let flight = Arc::new(InFlight::default());
        let items: Vec<u64> = (0..40).collect();
        let results = execute_in_parallel(
            items.clone(),
            |i| {
                let flight = Arc::clone(&flight);
                async move {
                    flight.enter();
                    // Later items often finish before earlier ones.
                    tokio::time::sleep(Duration::from_millis((i * 37) % 11 + 1)).await;
                    flight.leave();
                    i * 10
                }
            },
            4,
        )
        .await
        .unwrap();

        assert_eq!(results, items.iter().map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(flight.max.load(Ordering::SeqCst), 4);
        assert_eq!(flight.now.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_limit_of_one_runs_one_at_a_time() {
        let flight = Arc::new(InFlight::default());
        let results = execute_in_parallel(
            ["c", "a", "b"],
            |s| {
                let flight = Arc::clone(&flight);
                async move {
                    flight.enter();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    flight.leave();
                    s.to_uppercase()
                }
            },
            1,
        )
        .await
        .unwrap();
        assert_eq!(results, ["C", "A", "B"]);
        assert_eq!(flight.max.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn zero_concurrency_is_rejected_before_running_anything() {
        let ran = AtomicUsize::new(0);
        let err = execute_in_parallel(
            0..3,
            |i| {
                ran.fetch_add(1, Ordering::SeqCst);
                async move { i }
            },
            0,
        )
        .await
        .unwrap_err();
        assert!(matches!(
            err,
            StoreError::InvalidInput {
                field: "max_concurrency",
                ..
            }
        ));
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn no_items_give_no_results() {
        let results = execute_in_parallel(Vec::<u8>::new(), |i| async move { i }, 3)
            .await
            .unwrap();
        assert!(results.is_empty());
    }
}

//! Running workloads for a slice of time and timing every call.
//!
//! An operation and its baseline run *interleaved*: each task alternates between the two
//! (half the tasks start with each), so at any moment half the calls in flight are of
//! each kind and whatever disturbs the machine (DynamoDB Local's garbage collector and
//! JIT, another process) falls on both alike. Their ratio is that of their mean call
//! times in the same slice (at a fixed concurrency, the ratio of their throughputs).
//! An operation that batches concurrent calls (the limiter's group commit) runs alone
//! instead, in slices alternating with its baseline's ([`alternate`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::Workload;
use super::meter::Cost;

/// What one workload did in one slice.
#[derive(Default)]
pub(crate) struct Sample {
    /// The time of each call, in nanoseconds.
    pub(crate) latencies: Vec<u64>,
    /// What the calls cost.
    pub(crate) cost: Cost,
}

impl Sample {
    /// The mean call time in nanoseconds (0 without calls): at a fixed concurrency,
    /// throughput is inversely proportional to it.
    pub(crate) fn mean(&self) -> f64 {
        let n = self.latencies.len().max(1) as f64;
        self.latencies.iter().sum::<u64>() as f64 / n
    }
}

/// One round's measurement of `workloads` (one, or an operation and its baseline):
/// interleaved ([`run`]), or for a batched operation above one caller alone in turn
/// ([`alternate`]), in reverse order on odd rounds. At one caller a batched operation
/// has nothing to batch, and interleaving is what keeps the machine's drift out of the
/// ratio (in alternating slices the same limiter build measured 0.89–1.09x across six runs).
pub(crate) async fn measure(
    workloads: &[&Workload],
    round: u32,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Vec<Sample>> {
    if concurrency > 1 && workloads.first().is_some_and(|w| w.batched) {
        alternate(workloads, round % 2 == 1, concurrency, duration).await
    } else {
        run(workloads, concurrency, duration).await
    }
}

/// Runs `workloads` (one, or an operation and its baseline) from `concurrency` tasks for
/// `duration`: task `t` runs workload `t % n` first, then the next, and so on. Returns
/// one [`Sample`] per workload, in order.
async fn run(
    workloads: &[&Workload],
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Vec<Sample>> {
    for (i, a) in workloads.iter().enumerate() {
        for b in &workloads[i + 1..] {
            // Interleaved workloads must count their costs apart.
            anyhow::ensure!(
                !Arc::ptr_eq(&a.cost, &b.cost),
                "bench workloads `{}` and `{}` share their cost counters",
                a.name,
                b.name
            );
        }
    }
    let before: Vec<Cost> = workloads.iter().map(|w| (w.cost)()).collect();
    let deadline = Instant::now() + duration;
    let counters: Arc<Vec<AtomicU64>> =
        Arc::new(workloads.iter().map(|_| AtomicU64::new(0)).collect());
    let mut tasks = Vec::with_capacity(concurrency);
    for t in 0..concurrency {
        let ops: Vec<_> = workloads.iter().map(|w| Arc::clone(&w.op)).collect();
        let counters = Arc::clone(&counters);
        tasks.push(tokio::spawn(async move {
            let mut latencies = vec![Vec::new(); ops.len()];
            let mut next = t % ops.len();
            while Instant::now() < deadline {
                let n = counters[next].fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                ops[next](n).await?;
                latencies[next].push(started.elapsed().as_nanos() as u64);
                next = (next + 1) % ops.len();
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut samples: Vec<Sample> = workloads.iter().map(|_| Sample::default()).collect();
    for t in tasks {
        let latencies = t.await.context("a bench task panicked")??;
        for (sample, mut l) in samples.iter_mut().zip(latencies) {
            sample.latencies.append(&mut l);
        }
    }
    for ((sample, w), before) in samples.iter_mut().zip(workloads).zip(before) {
        sample.cost = (w.cost)() - before;
    }
    Ok(samples)
}

/// Runs each of `workloads` alone for `duration`, one after the other (in reverse order
/// if `reversed`, so that over two rounds drift of the machine cancels out): for an
/// operation that batches its concurrent calls, which interleaving would halve.
async fn alternate(
    workloads: &[&Workload],
    reversed: bool,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Vec<Sample>> {
    let mut samples: Vec<Sample> = workloads.iter().map(|_| Sample::default()).collect();
    let mut order: Vec<usize> = (0..workloads.len()).collect();
    if reversed {
        order.reverse();
    }
    for i in order {
        let mut alone = run(&workloads[i..=i], concurrency, duration).await?;
        samples[i] = alone.remove(0);
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::Sample;

    #[test]
    fn the_mean_of_a_sample_is_its_average_call_time() {
        let mean = |l: &[u64]| {
            Sample {
                latencies: l.to_vec(),
                ..Sample::default()
            }
            .mean()
        };
        assert_eq!(mean(&[]), 0.0);
        assert_eq!(mean(&[30, 10, 20]), 20.0);
        assert_eq!(mean(&[40, 10, 30, 21]), 25.25);
    }
}

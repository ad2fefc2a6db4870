use super::*;
use crate::algorithm::window;
use proptest::prelude::*;

fn limit(n: u32, ms: u64) -> RateLimit {
    RateLimit::new(n, Duration::from_millis(ms)).unwrap()
}

fn ts(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// The state's (bucket, count) pairs, oldest first.
fn buckets_of(state: &BucketState) -> Vec<(u64, u32)> {
    state.buckets().collect()
}

/// Recorded grants (sorted ms) in `(at − w, at]`.
fn exact_in_window(recorded: &[Timestamp], at: u64, w: u64) -> usize {
    window::in_window(recorded, ts(at), Duration::from_millis(w)).len()
}

#[test]
fn a_bucket_overlapping_the_window_start_counts_whole() {
    // 6.4 s window: 100 ms buckets.
    let l = limit(2, 6_400);
    let mut s = BucketState::new(bucket_width(l.window()));
    for t in [1_050, 1_090] {
        s = try_acquire(&s, ts(t), l).new_state.unwrap();
    }
    assert_eq!(buckets_of(&s), vec![(10, 2)]);
    // The exact log would free a slot at 1_050 + 6_400; the bucket leaves at
    // 1_100 + 6_400 − 1.
    let d = try_acquire(&s, ts(7_000), l);
    assert!(!d.decision.granted);
    assert_eq!(d.decision.wait, Duration::from_millis(7_499 - 7_000));
    assert_eq!(d.decision.reset_at, ts(7_499));
    assert!(!evaluate(&s, ts(7_498), l).granted);
    let later = try_acquire(&s, ts(7_499), l);
    assert!(later.decision.granted);
    assert_eq!(later.decision.remaining, 1);
    assert_eq!(buckets_of(&later.new_state.unwrap()), vec![(74, 1)]);
}

#[test]
fn a_clock_behind_records_at_the_newest_grant() {
    let l = limit(10, 6_400);
    let s = record(&BucketState::new(100), ts(5_000), l);
    let o = try_acquire(&s, ts(4_000), l);
    assert_eq!(o.decision.granted_at, Some(ts(5_000)));
    assert_eq!(buckets_of(&o.new_state.unwrap()), vec![(50, 2)]);
}

#[test]
fn cooldown_denies_until_it_ends() {
    let l = limit(10, 6_400);
    let s = cooldown(&BucketState::new(100), ts(2_000)).unwrap();
    assert!(cooldown(&s, ts(1_500)).is_none());
    let d = evaluate(&s, ts(1_000), l);
    assert!(!d.granted);
    assert_eq!((d.wait, d.remaining), (Duration::from_millis(1_000), 0));
    assert!(evaluate(&s, ts(2_000), l).granted);
}

#[test]
fn a_window_change_moves_grants_later_but_not_past_the_newest() {
    let l = limit(100, 6_400);
    let mut s = BucketState::new(100);
    for t in [150, 250, 260] {
        s = record(&s, ts(t), l);
    }
    let wide = s.with_width(1_000);
    assert_eq!(buckets_of(&wide), vec![(0, 3)]);
    let narrow = s.with_width(10);
    // 150 → 199 (bucket 19); 250, 260 → the newest, 260 (bucket 26).
    assert_eq!(buckets_of(&narrow), vec![(19, 1), (26, 2)]);
}

proptest! {
    /// Whatever the arrivals (clocks jumping back included): no half-open window-length
    /// interval of recorded grants holds more than the limit; the state stays at most
    /// 65 buckets; a denial's wait is exact for this rule (granted after it, not 1 ms
    /// before), never shorter than the exact log's and less than one bucket longer.
    #[test]
    fn never_over_the_limit_and_waits_are_tight(
        n in 1u32..40,
        window in 1u64..5_000,
        steps in proptest::collection::vec((0u64..400, 0u8..8), 1..300),
    ) {
        let l = limit(n, window);
        let width = bucket_width(l.window());
        let mut state = BucketState::new(width);
        let mut now = 10_000u64;
        let mut recorded: Vec<Timestamp> = Vec::new();
        for (delta, kind) in steps {
            now = match kind {
                0 => now.saturating_sub(delta / 4),
                1 => now,
                _ => now + delta / 8,
            };
            let o = try_acquire(&state, ts(now), l);
            prop_assert_eq!(o.decision.granted, o.new_state.is_some());
            let at = now.max(recorded.last().map_or(0, |g| g.as_millis()));
            let exact = exact_in_window(&recorded, at, window);
            prop_assert!(exact <= n as usize);
            match o.new_state {
                Some(s) => {
                    prop_assert_eq!(o.decision.granted_at, Some(ts(at)));
                    prop_assert!(exact < n as usize, "granted with {} in the window", exact);
                    recorded.push(ts(at));
                    state = s;
                    prop_assert!(state.counts().len() as u64 <= BUCKETS + 1);
                }
                None => {
                    let wait = o.decision.wait.as_millis() as u64;
                    prop_assert!(wait > 0);
                    let retry = now + wait;
                    prop_assert!(evaluate(&state, ts(retry), l).granted);
                    prop_assert!(!evaluate(&state, ts(retry - 1), l).granted);
                    let current = window::in_window(&recorded, ts(at), l.window());
                    let exact_wait =
                        window::wait_for_slot(current, n as usize, l.window(), ts(now));
                    let exact_wait = exact_wait.as_millis() as u64;
                    prop_assert!(exact_wait <= wait, "{} < exact {}", wait, exact_wait);
                    // A clock behind waits for the newest grant's time as well.
                    prop_assert!(wait < exact_wait.max(at - now) + width,
                        "{} vs exact {} (bucket {})", wait, exact_wait, width);
                }
            }
        }
        for (i, &start) in recorded.iter().enumerate() {
            let end = start.as_millis() + window;
            let count = recorded[i..].iter().take_while(|g| g.as_millis() < end).count();
            prop_assert!(count <= n as usize, "{} grants in [{}, {})", count, start.as_millis(), end);
        }
    }

    /// A caller asking until denied at every millisecond gets at least `limit` grants
    /// in every interval of `W + b − 1` ms ending at or after its first denial, and
    /// `remaining` plus the grants counted always make the limit.
    #[test]
    fn a_saturating_caller_loses_at_most_one_bucket(
        n in 1u32..12,
        window in 1u64..400,
        start in 0u64..5_000,
    ) {
        let l = limit(n, window);
        let width = bucket_width(l.window());
        let span = window + width - 1;
        let mut state = BucketState::new(width);
        let end = start + 4 * span + 10;
        let mut per_ms = vec![0usize; (end - start) as usize];
        let mut first_denial = None;
        for now in start..end {
            loop {
                let o = try_acquire(&state, ts(now), l);
                match o.new_state {
                    Some(s) => {
                        state = s;
                        per_ms[(now - start) as usize] += 1;
                    }
                    None => {
                        first_denial.get_or_insert(now);
                        break;
                    }
                }
            }
        }
        let first = first_denial.unwrap();
        let mut prefix = vec![0usize];
        for c in &per_ms {
            prefix.push(prefix.last().unwrap() + c);
        }
        for t in first..end {
            let hi = (t - start + 1) as usize;
            let lo = (t + 1).saturating_sub(span).max(start) - start;
            let got = prefix[hi] - prefix[lo as usize];
            prop_assert!(got >= n as usize, "{} grants in the {} ms up to {}", got, span, t);
        }
        // Over the whole saturated run: at least limit × 64/65 per window on average.
        let total = prefix[per_ms.len()] as f64;
        let windows = (end - start) as f64 / window as f64;
        prop_assert!(total >= f64::from(n) * 64.0 / 65.0 * (windows - 2.0));
    }
}

//! The pure parts, timed: one sliding-window decision on a full Comic Vine window, one
//! bucketed decision at a large limit, one adaptive decision, and hashing a typical
//! Comic Vine list request.
//!
//! `cargo bench -p comic-vine-store --bench pure`

use std::hint::black_box;
use std::time::Duration;

use comic_vine_store::adaptive::Priority;
use comic_vine_store::algorithm::prioritized::{self, AdaptiveState};
use comic_vine_store::algorithm::window::{self, WindowState};
use comic_vine_store::algorithm::window_form::{self, WindowForm};
use comic_vine_store::{AdaptiveConfig, RateLimit, Timestamp, hash_request};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn window_decision(c: &mut Criterion) {
    let limit = RateLimit::comic_vine();
    let start = 1_764_000_000_000u64;
    // 199 grants over the last hour: the next request is the 200th.
    let grants = (0..199)
        .map(|i| Timestamp::from_millis(start + i * 18_000))
        .collect();
    let state = WindowState::from_parts(grants, None);
    let now = Timestamp::from_millis(start + 199 * 18_000);
    c.bench_function("window::try_acquire (199 of 200 used)", |b| {
        b.iter(|| window::try_acquire(black_box(&state), black_box(now), limit))
    });
    let full = window::try_acquire(&state, now, limit)
        .new_state
        .unwrap_or_default();
    c.bench_function("window::try_acquire (denied)", |b| {
        b.iter(|| window::try_acquire(black_box(&full), black_box(now), limit))
    });
}

fn bucketed_decision(c: &mut Criterion) {
    let limit = RateLimit::new(10_000, Duration::from_secs(3600)).unwrap();
    let mut state = WindowForm::empty(limit);
    let mut now = Timestamp::from_millis(1_764_000_000_000);
    // 9,999 grants spread over the last hour (every bucket in use): the next is the last.
    for _ in 0..9_999 {
        state = window_form::record(&state, now, limit);
        now = now.saturating_add(Duration::from_millis(360));
    }
    c.bench_function(
        "window_form::try_acquire (bucketed, 9,999 of 10,000)",
        |b| b.iter(|| window_form::try_acquire(black_box(&state), black_box(now), limit)),
    );
}

fn adaptive_decision(c: &mut Criterion) {
    let limit = RateLimit::comic_vine();
    let config = AdaptiveConfig::default();
    let mut state = AdaptiveState::default();
    let mut now = Timestamp::from_millis(1_764_000_000_000);
    for i in 0..150u64 {
        let p = if i % 3 == 0 {
            Priority::User
        } else {
            Priority::Background
        };
        state = prioritized::record(&state, now, p, limit, &config);
        now = now.saturating_add(Duration::from_secs(20));
    }
    c.bench_function(
        "prioritized::try_acquire (150 grants, recalculation)",
        |b| {
            b.iter(|| {
                prioritized::try_acquire(
                    black_box(&state),
                    black_box(now),
                    Priority::Background,
                    limit,
                    &config,
                )
            })
        },
    );
}

fn hashing(c: &mut Criterion) {
    let params = json!({
        "filter": {"name": "Batman", "publisher": "DC Comics"},
        "sort": {"field": "date_added", "direction": "desc"},
        "field_list": ["id", "name", "issue_number", "volume", "cover_date", "image"],
        "limit": 100, "offset": 200,
    });
    c.bench_function("hash_request (typical list request)", |b| {
        b.iter(|| hash_request(black_box("issues/list"), black_box(&params)))
    });
}

criterion_group!(
    benches,
    window_decision,
    bucketed_decision,
    adaptive_decision,
    hashing
);
criterion_main!(benches);

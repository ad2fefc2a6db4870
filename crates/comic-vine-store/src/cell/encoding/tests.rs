use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::adaptive::Trend;
use crate::dedupe::{JobId, JobState};

fn ts(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

proptest! {
    #[test]
    fn windows_round_trip(grants in proptest::collection::vec(0u64..u64::MAX / 4, 0..300),
                          cooldown in proptest::option::of(0u64..u64::MAX / 4)) {
        let state = WindowState::from_parts(
            sorted(grants).into_iter().map(ts).collect(),
            cooldown.map(ts),
        );
        prop_assert_eq!(decode_window(&encode_window(&state), "w").unwrap(), state);
    }

    #[test]
    fn adaptive_states_round_trip(
        grants in proptest::collection::vec((0u64..1u64 << 50, any::<bool>()), 0..200),
        buckets in proptest::collection::vec((0u64..1u64 << 40, 1u32..1000), 0..30),
        times in proptest::collection::vec(proptest::option::of(0u64..1u64 << 50), 3),
        with_split in any::<bool>(),
    ) {
        let mut grants = grants;
        grants.sort_unstable();
        let state = AdaptiveState {
            grants: grants.into_iter().map(|(at, user)| Grant {
                at: ts(at),
                priority: if user { Priority::User } else { Priority::Background },
            }).collect(),
            activity: ActivityLog::from_buckets(buckets),
            last_user_at: times[0].map(ts),
            last_background_at: times[1].map(ts),
            cooldown_until: times[2].map(ts),
            split: with_split.then(|| AdaptiveStatus {
                user_reserved: 3,
                background_max: 7,
                background_paused: false,
                recent_user_activity: 2,
                trend: Trend::Stable,
                reason: "moderate".to_owned(),
                calculated_at: ts(5),
            }),
        };
        prop_assert_eq!(decode_adaptive(&encode_adaptive(&state), "a").unwrap(), state);
    }

    #[test]
    fn bucketed_windows_round_trip(
        width in 1u64..1u64 << 40,
        first in 0u64..1u64 << 50,
        counts in proptest::collection::vec(any::<u32>(), 0..66),
        newest in proptest::option::of(0u64..1u64 << 50),
        cooldown in proptest::option::of(0u64..1u64 << 50),
    ) {
        let state = WindowForm::Buckets(BucketState::from_parts(
            width, first, counts, newest.map(ts), cooldown.map(ts),
        ));
        let bytes = encode_window_form(&state);
        prop_assert!(bytes.len() < 400, "{} bytes", bytes.len());
        prop_assert_eq!(decode_window_form(&bytes, "w").unwrap(), state);
        let log = WindowForm::Log(WindowState::from_parts(vec![ts(5)], newest.map(ts)));
        prop_assert_eq!(decode_window_form(&encode_window_form(&log), "w").unwrap(), log);
    }

    /// Any byte string decodes to a state or a typed error, never a panic.
    #[test]
    fn garbage_is_a_typed_error(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        for result in [
            decode_window(&bytes, "x").err(),
            decode_window_form(&bytes, "x").err(),
            decode_adaptive(&bytes, "x").err(),
            decode_job(&bytes, "x").err(),
        ].into_iter().flatten() {
            prop_assert!(matches!(result, StoreError::Corrupt { .. }), "{result:?}");
        }
    }
}

#[test]
fn jobs_round_trip_and_a_window_stays_small() {
    let job = StoredJob {
        info: JobInfo {
            job_id: JobId::from_string("j1"),
            state: JobState::Completed,
            created_at: ts(1),
            lease_until: ts(30_001),
            finished_at: Some(ts(20)),
            error: None,
        },
        result: Some(b"{\"a\":1}".to_vec()),
    };
    assert_eq!(decode_job(&encode_job(&job), "j").unwrap(), job);
    let base = 1_764_000_000_000u64;
    let hour = Duration::from_secs(3600).as_millis() as u64;
    let window = WindowState::from_parts(
        (0..200)
            .map(|i| ts(base + i * hour / 200 + i % 7))
            .collect(),
        None,
    );
    let bytes = encode_window(&window);
    assert!(bytes.len() < 700, "{} bytes", bytes.len());
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(decode_window(&trailing, "w").is_err());
    let mut future = bytes;
    future[0] = 2;
    assert!(decode_window(&future, "w").is_err());
}

//! The in-memory stores pass the conformance suite.

use comic_vine_store::conformance::MemoryBackend;

mod cache {
    use super::*;
    comic_vine_store::cache_conformance_tests!(async { MemoryBackend::default() });
}

mod exactness {
    use super::*;
    comic_vine_store::exactness_conformance_tests!(async { MemoryBackend::default() });
}

mod dedupe {
    use super::*;
    comic_vine_store::dedupe_conformance_tests!(async { MemoryBackend::default() });
    comic_vine_store::dedupe_cache_conformance_tests!(async { MemoryBackend::default() });
}

mod rate_limit {
    use super::*;
    comic_vine_store::rate_limit_conformance_tests!(async { MemoryBackend::default() });
}

mod adaptive {
    use super::*;
    comic_vine_store::adaptive_conformance_tests!(async { MemoryBackend::default() });
}

mod replay {
    use super::*;
    use comic_vine_store::clock::Timestamp;
    use comic_vine_store::conformance::replay;

    /// The replay is deterministic for a seed (so two backends' lists can be compared)
    /// and reaches every kind of outcome.
    #[tokio::test]
    async fn a_seed_replays_the_same_outcomes() {
        let start = Timestamp::from_secs(1_764_000_000);
        let a = replay::run(&MemoryBackend::default(), 11, 400, 2, start).await;
        let b = replay::run(&MemoryBackend::default(), 11, 400, 2, start).await;
        assert_eq!(a, b);
        let other = replay::run(&MemoryBackend::default(), 12, 400, 2, start).await;
        assert_ne!(a, other, "another seed, another sequence");
        for needle in [
            "granted: true",
            "granted: false",
            "Owner {",
            "Joined {",
            "Err(not_job_owner)",
            "Completed(",
            "Failed(",
            "cooldown_until: Some(",
            "background_paused",
        ] {
            assert!(
                a.iter().any(|l| l.contains(needle)),
                "no {needle:?} in {a:#?}"
            );
        }
    }
}

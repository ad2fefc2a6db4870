//! The SQLite stores pass the same conformance suite as the in-memory ones.

use super::backend::SqliteBackend;

mod cache {
    use super::*;
    comic_vine_store::cache_conformance_tests!(SqliteBackend::fresh());
}

mod exactness {
    use super::*;
    comic_vine_store::exactness_conformance_tests!(SqliteBackend::fresh());
}

mod rate_limit {
    use super::*;
    comic_vine_store::rate_limit_conformance_tests!(SqliteBackend::fresh());
}

mod adaptive {
    use super::*;
    comic_vine_store::adaptive_conformance_tests!(SqliteBackend::fresh());
}

mod dedupe {
    use super::*;
    comic_vine_store::dedupe_conformance_tests!(SqliteBackend::fresh());
}

/// The cache cases through a near cache: every factory call a new "process" (a near
/// cache over a new connection on the file).
mod near_cache {
    use std::sync::Arc;

    use async_trait::async_trait;
    use comic_vine_sqlite_store::SqliteCacheStore;
    use comic_vine_store::cache::NearCache;
    use comic_vine_store::conformance::{CacheBackend, Setup};
    use comic_vine_store::{CacheStore, StoreResult};
    use serde_json::Value;

    use super::SqliteBackend;

    struct NearSqlite(SqliteBackend);

    #[async_trait]
    impl CacheBackend for NearSqlite {
        async fn cache(&self, setup: &Setup) -> StoreResult<Arc<dyn CacheStore<Value>>> {
            let store = SqliteCacheStore::<Value>::new(&self.0.handle(setup).await?);
            let near = NearCache::builder(store)
                .clock(setup.store_clock())
                .build()?;
            Ok(Arc::new(near))
        }
    }

    comic_vine_store::cache_conformance_tests!(async { NearSqlite(SqliteBackend::fresh().await) });
}

/// One seeded sequence of rate-limit, adaptive and dedupe operations gives the same
/// outcome at every step on SQLite as in memory: the policy is the core's. With two
/// handles (two connections on the file) as well, since a SQLite handle keeps no state
/// of its own between operations.
#[tokio::test]
async fn a_replay_matches_the_memory_stores() {
    use comic_vine_store::clock::{Clock, SystemClock, Timestamp};
    use comic_vine_store::conformance::{MemoryBackend, replay};

    let start = Timestamp::from_secs(SystemClock.now().as_secs());
    for (seed, handles) in [(3, 1), (4, 1), (11, 2)] {
        let memory = replay::run(&MemoryBackend::default(), seed, 250, handles, start).await;
        let sqlite = replay::run(&SqliteBackend::fresh().await, seed, 250, handles, start).await;
        assert_eq!(memory.len(), sqlite.len(), "seed {seed}");
        for (step, (m, s)) in memory.iter().zip(&sqlite).enumerate() {
            assert_eq!(m, s, "seed {seed}, {handles} handle(s), step {step}");
        }
    }
}

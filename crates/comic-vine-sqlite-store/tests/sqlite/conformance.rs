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

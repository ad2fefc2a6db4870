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

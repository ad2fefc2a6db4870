//! The SQLite stores pass the same conformance suite as the in-memory ones.

use super::backend::SqliteBackend;

mod cache {
    use super::*;
    comic_vine_store::cache_conformance_tests!(SqliteBackend::fresh());
}

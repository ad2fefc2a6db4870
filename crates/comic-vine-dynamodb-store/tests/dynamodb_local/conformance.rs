//! The DynamoDB stores pass the same conformance suite as the in-memory ones.

use super::backend::DynamoBackend;

mod cache {
    use super::*;
    comic_vine_store::cache_conformance_tests!(DynamoBackend::fresh());
}

mod exactness {
    use super::*;
    comic_vine_store::exactness_conformance_tests!(DynamoBackend::fresh());
}

mod dedupe {
    use super::*;
    comic_vine_store::dedupe_conformance_tests!(DynamoBackend::fresh());
    comic_vine_store::dedupe_cache_conformance_tests!(DynamoBackend::fresh());
}

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
}

mod rate_limit {
    use super::*;
    comic_vine_store::rate_limit_conformance_tests!(async { MemoryBackend::default() });
}

mod adaptive {
    use super::*;
    comic_vine_store::adaptive_conformance_tests!(async { MemoryBackend::default() });
}

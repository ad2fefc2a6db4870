//! The stub Comic Vine API on 127.0.0.1, served by a runtime of the test while the
//! binary runs.

use comic_vine_stub::{StubApi, StubCaching, StubConfig};

/// The stub, and the runtime serving it.
pub struct Stub {
    /// The runtime the stub's server runs on.
    pub runtime: tokio::runtime::Runtime,
    /// The stub.
    pub api: StubApi,
}

impl Stub {
    /// The stub with sparse caching headers (as Comic Vine's own).
    pub fn start() -> Self {
        Self::start_with(StubCaching::sparse())
    }

    /// The stub sending `caching` headers.
    pub fn start_with(caching: StubCaching) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let api = runtime
            .block_on(StubApi::start_with_caching(StubConfig::default(), caching))
            .expect("start the stub");
        Self { runtime, api }
    }

    /// `path` (e.g. `/issues/?limit=2`) under the stub's API URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api.url())
    }
}

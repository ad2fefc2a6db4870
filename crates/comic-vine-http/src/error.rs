//! [`Error`]: a request the pipeline could not serve.

use comic_vine_store::pipeline::PipelineError;

/// A request the pipeline could not serve, naming its endpoint (`GET
/// scheme://host[:port]/path`, never the query: it may hold credentials).
#[derive(Debug, thiserror::Error)]
#[error("{endpoint} through the stores")]
pub struct Error {
    endpoint: String,
    #[source]
    source: PipelineError,
}

impl Error {
    pub(crate) fn new(endpoint: String, source: PipelineError) -> Self {
        Self { endpoint, source }
    }

    /// The endpoint, `GET scheme://host[:port]/path`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Why the pipeline failed.
    pub fn pipeline_error(&self) -> &PipelineError {
        &self.source
    }

    /// Why the pipeline failed, by value.
    pub fn into_pipeline_error(self) -> PipelineError {
        self.source
    }
}

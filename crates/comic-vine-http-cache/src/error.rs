//! The errors of the adapter (handed to http-cache boxed, as its `BoxError`).

use comic_vine_store::StoreError;

/// What can go wrong between http-cache and the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpCacheStoreError {
    /// The store failed (unreachable, throttled, refused the value…); the source says why.
    #[error("cache store {operation} failed")]
    Store {
        /// `get`, `put` or `delete`.
        operation: &'static str,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// A stored entry does not decode into a response.
    #[error("corrupt cache entry: {field}: {detail}")]
    CorruptEntry {
        /// The field that does not decode.
        field: &'static str,
        /// Why.
        detail: String,
    },
}

impl HttpCacheStoreError {
    pub(crate) fn corrupt(field: &'static str, detail: impl Into<String>) -> Self {
        Self::CorruptEntry {
            field,
            detail: detail.into(),
        }
    }

    pub(crate) fn store(operation: &'static str, source: StoreError) -> Self {
        Self::Store { operation, source }
    }
}

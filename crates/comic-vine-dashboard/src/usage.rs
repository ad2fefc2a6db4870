//! What the overview says of traffic: the hits and misses the application counted, and
//! the units its stores consumed, where the embedding application knows them (the
//! stores themselves keep no such counts for the fleet).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Counts an application reports for the overview; `None` where it does not know.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageView {
    /// What the counts cover, in words (e.g. "this process's requests").
    pub scope: String,
    /// Requests answered from the cache (fresh, revalidated or stale).
    pub hits: Option<u64>,
    /// Requests the cache could not answer (joined or sent upstream).
    pub misses: Option<u64>,
    /// Backend requests the stores sent.
    pub store_requests: Option<u64>,
    /// Read units the stores consumed (as the backend reports them).
    pub read_units: Option<f64>,
    /// Write units the stores consumed.
    pub write_units: Option<f64>,
}

/// A function reporting [`UsageView`] when the overview is read.
pub type UsageFn = Arc<dyn Fn() -> UsageView + Send + Sync>;

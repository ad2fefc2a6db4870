//! The log of every call the stub counted, for charts of a run (`cvstore demo --report`).

use std::time::Duration;

use crate::StubApi;

/// The most calls the log keeps (later calls are counted but not logged).
pub(crate) const MAX_LOGGED: usize = 1_000_000;

/// One call the stub counted against a resource's limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StubCall {
    /// The resource called.
    pub resource: String,
    /// When, since the stub started.
    pub at: Duration,
    /// Calls to the resource in the window ending then, this one included: over the
    /// limit, the call was a violation (answered 420).
    pub in_window: usize,
}

impl StubApi {
    /// Every call counted so far, oldest first (at most the first million).
    pub fn call_log(&self) -> Vec<StubCall> {
        let calls = self.shared.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls.log.clone()
    }

    /// The limit per resource and window the stub enforces.
    pub fn limit(&self) -> usize {
        self.shared.config.limit
    }

    /// The window of the limit.
    pub fn window(&self) -> Duration {
        self.shared.config.window
    }
}

//! What a test changes while the stub runs: its caching headers, and faults (the next
//! requests answered with a status of the test's choosing).

use std::sync::PoisonError;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};

use crate::{StubApi, StubCaching};

/// The next `remaining` requests are answered `status`.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    status: AtomicU16,
    remaining: AtomicUsize,
}

impl Faults {
    /// The status to answer this request with, if a fault is pending (one fewer left;
    /// `usize::MAX` never runs out).
    pub(crate) fn take(&self) -> Option<u16> {
        self.remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
                0 => None,
                usize::MAX => Some(n),
                n => Some(n - 1),
            })
            .ok()
            .map(|_| self.status.load(Ordering::SeqCst))
    }

    /// The status line of a fault's answer.
    pub(crate) fn status_line(status: u16) -> String {
        let reason = http_reason(status);
        format!("HTTP/1.1 {status} {reason}\r\n")
    }
}

fn http_reason(status: u16) -> &'static str {
    match status {
        304 => "Not Modified",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Fault",
    }
}

impl StubApi {
    /// Answers the next `count` requests (`usize::MAX`: all of them, until called again)
    /// with `status` and no body nor caching headers, e.g. `503` for an outage, or a
    /// `304` that validates nothing. They are counted as full or conditional requests
    /// ([`full_requests`](Self::full_requests),
    /// [`conditional_requests`](Self::conditional_requests)), not per resource.
    pub fn answer_next(&self, status: u16, count: usize) {
        self.shared.faults.status.store(status, Ordering::SeqCst);
        self.shared.faults.remaining.store(count, Ordering::SeqCst);
    }

    /// Sends `caching` headers from now on (e.g. another `max-age` with the `304`s).
    pub fn set_caching(&self, caching: StubCaching) {
        *self
            .shared
            .caching
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = caching;
    }
}

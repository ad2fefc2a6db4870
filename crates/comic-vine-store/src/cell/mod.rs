//! The state cell: the one atomic primitive a backend provides for the rate-limit,
//! adaptive and dedupe stores.
//!
//! The stores' policy (operation → pure algorithm → new state → outcome) is written
//! once, in this crate, over a [`StateCell`]; a backend only stores what the policy
//! decided, atomically. It cannot make a decision of its own, so it cannot drift from
//! the others. This is governor's `StateStore::measure_and_replace`, made async and
//! carrying an encoded state instead of a number.
//!
//! # The contract
//!
//! A state is an opaque byte string (encoded by this crate) stored under a
//! ([`StateKind`], key) pair; the backend keeps whatever version it needs beside it.
//!
//! - **Atomic.** [`StateCell::update`] runs a pure [`Transition`] on the stored state
//!   (`None` when there is none) and stores the [`Change`] it returns only if the state
//!   is still the one the transition saw (a conditional write, a row lock, a mutex). If
//!   another writer came first, the transition is run again on the state it left
//!   (retry on conflict), up to a bound, then [`StoreError::Contention`]. A transition
//!   must therefore be pure: it may run several times; only its last run counts.
//! - **Exactly once.** When `update` returns `Ok`, the stored state holds the effect of
//!   the transition's last run exactly once. A backend that may lose a write's answer
//!   must find out whether it landed (e.g. version tokens) instead of applying it twice.
//!   On `Err` the effect may or may not be stored, never twice.
//! - **No write.** [`Change::Keep`] stores nothing. A backend that remembers the state
//!   it last saw may decide a transition on it without a request, so a `Keep` answer
//!   (a denial, say) may rest on a state another process has replaced since; a `Put` is
//!   always checked against the current state. Call [`StateCell::load`] first to decide
//!   on the state as of now.
//! - **Errors of a transition.** A transition returning `Err` changes nothing and that
//!   error is its caller's answer; other callers are not affected.
//! - **Group commit (optional).** Concurrent updates of one key may be decided together,
//!   in arrival order, each transition seeing the state the previous one produced, and
//!   written once.
//! - **Expiry.** [`Change::Put::expires_at`] is a hint for garbage collection: the
//!   backend may drop the state after it, never before. A state past its expiry may
//!   still be handed to a transition, which must decide correctly on it.
//!
//! Transitions are boxed and `'static` (not borrowed closures) so that a backend may
//! queue one caller's transition and run it from another caller's task (group commit)
//! or a blocking thread (SQLite), even if the first caller's future is dropped.

mod adaptive;
mod dedupe;
pub mod encoding;
pub mod jobs;
mod on;
pub mod packing;
mod rate_limit;
mod update;

pub use adaptive::CellAdaptiveStore;
pub use dedupe::{CellDedupeStore, decode_outcome};
pub use jobs::JobCell;
pub use rate_limit::CellRateLimitStore;
pub use update::decide;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::clock::Timestamp;
#[cfg(doc)]
use crate::error::StoreError;
use crate::error::StoreResult;

/// Which store a state belongs to; a backend keys (and may lay out) states by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateKind {
    /// A sliding window of the exact rate limiter (key: the resource).
    Window,
    /// The adaptive limiter's state (key: the resource).
    Adaptive,
    /// A dedupe job (key: the request hash).
    Job,
}

impl StateKind {
    /// A short stable name (for keys, logs and metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Window => "window",
            Self::Adaptive => "adaptive",
            Self::Job => "job",
        }
    }
}

/// What a transition decided to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing changes; nothing is written.
    Keep,
    /// Store `state` (replacing the one the transition saw).
    Put {
        /// The new encoded state.
        state: Vec<u8>,
        /// When the backend may drop it (a hint; never earlier).
        expires_at: Timestamp,
    },
}

/// A pure transition: the stored state (`None` if none) in, the change to store out.
/// Outputs for the caller travel through the closure's captures (see [`decide`]).
pub type Transition = Box<dyn Fn(Option<&[u8]>) -> StoreResult<Change> + Send + Sync>;

/// Atomic storage of encoded states, the only job of a backend for the rate-limit,
/// adaptive and dedupe stores. See the [module docs](self) for the contract.
#[async_trait]
pub trait StateCell: Send + Sync {
    /// Runs `transition` on the state of (`kind`, `key`) and stores its change
    /// atomically, retrying on conflict. Returns once the change (if any) is stored.
    async fn update(&self, kind: StateKind, key: &str, transition: Transition) -> StoreResult<()>;

    /// The state of (`kind`, `key`) as stored now (read through, not from memory).
    async fn load(&self, kind: StateKind, key: &str) -> StoreResult<Option<Vec<u8>>>;

    /// Deletes the state of (`kind`, `key`) unconditionally (a reset).
    async fn remove(&self, kind: StateKind, key: &str) -> StoreResult<()>;

    /// A counter bumped on every change this cell stores, if the backend can tell
    /// (waiters then wake at once instead of polling); `None` if it cannot.
    fn changes(&self) -> Option<watch::Receiver<u64>> {
        None
    }
}

//! [`CellOn`]: what every `Cell*` store holds besides its settings.

use std::sync::Arc;

use crate::clock::SharedClock;

/// The cell a store works on and the clock it reads time from.
pub(crate) struct CellOn<C: ?Sized> {
    /// The cell the states (or jobs) are kept in.
    pub(crate) cell: Arc<C>,
    /// Where the store reads "now".
    pub(crate) clock: SharedClock,
}

impl<C: ?Sized> Clone for CellOn<C> {
    fn clone(&self) -> Self {
        Self {
            cell: Arc::clone(&self.cell),
            clock: Arc::clone(&self.clock),
        }
    }
}

impl<C: ?Sized> CellOn<C> {
    /// The same cell read with `clock`.
    pub(crate) fn with_clock(&self, clock: SharedClock) -> Self {
        Self {
            cell: Arc::clone(&self.cell),
            clock,
        }
    }
}

//! Pure decision algorithms: state and time in, decision and new state out.
//!
//! Nothing here reads a clock or does I/O, so every backend shares one implementation
//! and tests drive it with plain numbers. Backends only load the state, call a function
//! here and store the new state atomically (compare-and-swap).

pub mod activity;
pub mod bucketed_window;
pub mod capacity;
mod decision;
pub mod jobs;
pub mod prioritized;
pub mod window;
pub mod window_form;

//! Tests of the SQLite backend on real database files in temporary directories.

mod backend;
mod cell;
mod conformance;
mod files;
mod processes;
mod values;

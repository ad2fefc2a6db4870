//! The packing of numbers and grant times, now owned by the core crate
//! ([`comic_vine_store::cell::packing`]).

pub(crate) use comic_vine_store::cell::packing::{pack_numbers, unpack_numbers};

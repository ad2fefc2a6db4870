//! The stale policy and revalidation through the tower layer: the shared scenarios of
//! `comic-vine-testkit` (the reqwest middleware runs the same), on the in-memory stores
//! under a manual clock, against the stub on 127.0.0.1.

mod support;

use support::Tower;

comic_vine_testkit::stale_tests!(Tower);

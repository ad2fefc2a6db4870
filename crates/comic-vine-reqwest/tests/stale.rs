//! The stale policy and revalidation through the reqwest middleware: the shared
//! scenarios of `comic-vine-testkit` (the tower layer runs the same), on the in-memory
//! stores under a manual clock, against the stub on 127.0.0.1.

mod support;

use support::Reqwest;

comic_vine_testkit::stale_tests!(Reqwest);

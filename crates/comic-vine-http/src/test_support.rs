//! Helpers the unit tests share.

use http::{HeaderMap, HeaderName};

/// A header map of (name, value) pairs, in order; a name may repeat.
pub(crate) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in pairs {
        h.append(
            HeaderName::from_bytes(n.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    h
}

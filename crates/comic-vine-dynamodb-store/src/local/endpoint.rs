//! Checking that an endpoint stays on this machine.

use std::net::IpAddr;

use comic_vine_store::{StoreError, StoreResult};

/// Checks that `endpoint` is `http://HOST:PORT` (or `https://`, optionally with a trailing
/// `/`) with HOST a loopback address (`127.0.0.0/8`, `[::1]`) or `localhost`.
///
/// `field` names the option for the error, e.g. `DYNAMODB_ENDPOINT`.
pub(super) fn check_loopback(field: &str, endpoint: &str) -> StoreResult<()> {
    let invalid = |reason: &str| {
        StoreError::invalid_config(
            field,
            format!("`{endpoint}` {reason}; the test harness only talks to 127.0.0.1"),
        )
    };
    let authority = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .ok_or_else(|| invalid("is not an http:// or https:// URL"))?;
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| invalid("has no port"))?;
    if port.parse::<u16>().is_err() {
        return Err(invalid("has no valid port"));
    }
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(invalid("is not a loopback address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_loopback_endpoints() {
        for endpoint in [
            "http://127.0.0.1:8000",
            "http://127.0.0.1:8000/",
            "http://127.1.2.3:1",
            "http://localhost:8000",
            "https://[::1]:8443",
        ] {
            assert!(check_loopback("E", endpoint).is_ok(), "{endpoint}");
        }
    }

    #[test]
    fn rejects_other_endpoints() {
        for endpoint in [
            "http://10.0.0.1:8000",
            "http://dynamodb:8000",
            "http://127.0.0.1",
            "http://127.0.0.1:99999",
            "127.0.0.1:8000",
            "http://127.0.0.1:8000/path",
            "https://dynamodb.us-east-1.amazonaws.com",
        ] {
            assert!(
                matches!(
                    check_loopback("E", endpoint),
                    Err(StoreError::InvalidConfig { .. })
                ),
                "{endpoint}"
            );
        }
    }
}

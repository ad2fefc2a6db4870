//! Reading `Retry-After` (RFC 9110 §10.2.3): delay seconds or an HTTP date.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use http::header::RETRY_AFTER;

/// How long `headers`' `Retry-After` asks to wait, seen at `now`; `None` if absent or
/// unreadable. A date (any of the three HTTP date formats) in the past is a wait of zero.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    /// Seconds since the epoch of an HTTP date, read as a `Retry-After` at the epoch.
    fn http_date(date: &str) -> Option<u64> {
        retry_after(&headers(date), UNIX_EPOCH).map(|wait| wait.as_secs())
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, value.parse().unwrap());
        h
    }

    #[test]
    fn reads_delay_seconds() {
        let now = SystemTime::now();
        assert_eq!(
            retry_after(&headers("120"), now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
        for bad in ["-1", "soon", "1.5", "Sun, 06 Nov 1994 08:49:37 UTC", ""] {
            assert_eq!(retry_after(&headers(bad), now), None, "{bad}");
        }
    }

    #[test]
    fn reads_the_three_http_date_formats() {
        // 784111777 = 1994-11-06T08:49:37Z.
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(http_date(date), Some(784_111_777), "{date}");
        }
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            http_date("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(1_835_438_400)
        );
        assert_eq!(http_date("Sun, 06 Foo 1994 08:49:37 GMT"), None);
        assert_eq!(http_date("Sun, 06 Nov 1994 25:49:37 GMT"), None);
    }

    #[test]
    fn a_date_is_a_wait_from_now_and_a_past_date_zero() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777 - 30);
        let h = headers("Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        let later = now + Duration::from_secs(60);
        assert_eq!(retry_after(&h, later), Some(Duration::ZERO));
    }
}

//! Reading `Retry-After` (RFC 9110 §10.2.3): delay seconds or an HTTP date.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use http::header::RETRY_AFTER;

/// How long `headers`' `Retry-After` asks to wait, seen at `now`; `None` if absent or
/// unreadable. A date in the past is a wait of zero.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = UNIX_EPOCH + Duration::from_secs(http_date(value)?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Seconds since the Unix epoch of an HTTP date in any of the three formats recipients
/// must accept: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`).
fn http_date(s: &str) -> Option<u64> {
    let (day, month, year, time) = if let Some((_, rest)) = s.split_once(", ") {
        let rest = rest.strip_suffix(" GMT")?;
        if let [day, month, year, time] = rest.split(' ').collect::<Vec<_>>()[..] {
            (day, month, year.parse::<u64>().ok()?, time) // IMF-fixdate
        } else {
            let (date, time) = rest.split_once(' ')?;
            let [day, month, year] = date.split('-').collect::<Vec<_>>()[..] else {
                return None;
            };
            // RFC 850: two-digit years; RFC 9110 reads those over 50 years ahead as past.
            let yy = year.parse::<u64>().ok()?;
            (
                day,
                month,
                if yy < 70 { 2000 + yy } else { 1900 + yy },
                time,
            )
        }
    } else {
        let parts: Vec<_> = s.split_whitespace().collect();
        let [_, month, day, time, year] = parts[..] else {
            return None;
        };
        (day, month, year.parse::<u64>().ok()?, time) // asctime
    };
    let day = day.parse::<u64>().ok().filter(|d| (1..=31).contains(d))?;
    let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
    let [h, m, sec] = time.split(':').collect::<Vec<_>>()[..] else {
        return None;
    };
    let (h, m, sec) = (
        h.parse::<u64>().ok()?,
        m.parse::<u64>().ok()?,
        sec.parse::<u64>().ok()?,
    );
    if h > 23 || m > 59 || sec > 60 || year < 1970 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (year ≥ 1970).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    // Howard Hinnant's algorithm, with years starting in March.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

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

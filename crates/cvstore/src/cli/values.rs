//! Value parsers of the command-line arguments: each checks its argument with the
//! library's own validation and limits, so a bad value is a usage error (exit status 2)
//! naming the argument and the allowed range before anything is sent.

use std::time::Duration;

use comic_vine_dynamodb_store::validate_table_name;
use comic_vine_store::config::MAX_LIMIT;
use comic_vine_store::{CacheConfig, RateLimit, StoreError, validate};

/// The longest cache TTL accepted: the cache's own maximum (30 days).
pub fn max_ttl() -> Duration {
    CacheConfig::default().max_ttl
}

/// `duration` in the units `--ttl` takes, e.g. `720h`, `90s`, `250ms`.
pub fn render_duration(duration: Duration) -> String {
    let ms = comic_vine_store::clock::duration_millis(duration);
    match ms {
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1_000) => format!("{}s", ms / 1_000),
        _ => format!("{ms}ms"),
    }
}

/// Parses `250ms`, `3s`, `1m`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 3s, 1m or 1h"))?;
    let millis = match unit {
        "ms" => Some(n),
        "" | "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?}: use ms, s, m or h"
            ));
        }
    }
    .ok_or_else(|| format!("{text:?} is too long"))?;
    if millis == 0 {
        return Err(format!("{text:?}: a duration must be positive"));
    }
    Ok(Duration::from_millis(millis))
}

/// A cache TTL: a positive duration of at most [`max_ttl`].
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let ttl = parse_duration(text)?;
    let max = max_ttl();
    if ttl > max {
        return Err(format!(
            "{text} is longer than the maximum of {} (30 days)",
            render_duration(max)
        ));
    }
    Ok(ttl)
}

/// A rate limit: 1 to [`MAX_LIMIT`] requests per window.
pub fn parse_limit(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| format!("{text:?} is not a whole number from 1 to {MAX_LIMIT}"))
}

/// A rate-limit window: a positive duration the library accepts (at most a year).
pub fn parse_window(text: &str) -> Result<Duration, String> {
    let window = parse_duration(text)?;
    RateLimit::new(1, window).map_err(reason)?;
    Ok(window)
}

/// The endpoint of `cvstore hash`, e.g. `issues/list`: not empty.
pub fn parse_api_endpoint(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("must not be empty, e.g. `issues/list`".to_owned());
    }
    Ok(text.to_owned())
}

/// A count of requests reserved for users: 0 to [`MAX_LIMIT`] − 1 (less than the limit,
/// which is checked with the limit).
pub fn parse_reserve(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n < MAX_LIMIT)
        .ok_or_else(|| format!("{text:?} is not a whole number from 0 to {}", MAX_LIMIT - 1))
}

/// A DynamoDB table name (3 to 255 characters of `a-z A-Z 0-9 _ - .`).
pub fn parse_table(text: &str) -> Result<String, String> {
    validate_table_name(text).map_err(reason)?;
    Ok(text.to_owned())
}

/// An endpoint: an `http://` or `https://` URL with a host (and a port from 1 to 65535).
pub fn parse_endpoint(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{text:?} is not an http:// or https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host"));
    }
    if url.port() == Some(0) {
        return Err(format!("{text:?}: the port must be 1 to 65535"));
    }
    Ok(text.to_owned())
}

/// A cache key or request hash: 1 to 1024 bytes, no control characters.
pub fn parse_key(text: &str) -> Result<String, String> {
    validate::key("KEY", text).map_err(reason)?;
    Ok(text.to_owned())
}

/// A rate-limit resource: 1 to 256 bytes, no control characters.
pub fn parse_resource(text: &str) -> Result<String, String> {
    validate::resource(text).map_err(reason)?;
    Ok(text.to_owned())
}

/// What is wrong, without the library's field name (the argument is named by the
/// usage error itself).
fn reason(err: StoreError) -> String {
    match err {
        StoreError::InvalidInput { reason, .. } | StoreError::InvalidConfig { reason, .. } => {
            reason
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("0s").unwrap_err().contains("positive"));
        assert!(parse_duration("3 days").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1x").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn limits_come_from_the_library() {
        assert_eq!(parse_ttl("720h"), Ok(max_ttl()));
        assert!(parse_ttl("721h").unwrap_err().contains("maximum of 720h"));
        assert_eq!(parse_limit("100000"), Ok(MAX_LIMIT));
        assert!(parse_limit("100001").unwrap_err().contains("1 to 100000"));
        assert!(parse_limit("0").is_err());
        assert_eq!(parse_reserve("0"), Ok(0));
        assert!(parse_window("367d").is_err());
        assert!(
            parse_window("9000h")
                .unwrap_err()
                .contains("at most a year")
        );
        assert!(parse_reserve("100000").is_err());
        assert!(parse_table("ab").unwrap_err().contains("3 to 255"));
        assert!(parse_key(&"k".repeat(1025)).unwrap_err().contains("1024"));
        assert!(parse_resource("").unwrap_err().contains("empty"));
    }

    #[test]
    fn endpoints_are_http_urls_with_a_host_and_port() {
        assert!(parse_endpoint("http://127.0.0.1:8000").is_ok());
        assert!(parse_endpoint("https://dynamodb.eu-west-1.amazonaws.com").is_ok());
        for bad in [
            "ftp://x",
            "http://",
            "http://127.0.0.1:99999",
            "http://h:0",
            "localhost:8000",
            "",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_render_in_their_largest_whole_unit() {
        assert_eq!(render_duration(Duration::from_secs(30 * 24 * 3600)), "720h");
        assert_eq!(render_duration(Duration::from_secs(90)), "90s");
        assert_eq!(render_duration(Duration::from_millis(1500)), "1500ms");
    }
}

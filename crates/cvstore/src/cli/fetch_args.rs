//! Arguments of `cvstore fetch URL`.

use std::time::Duration;

use clap::Args;

use super::stores::PriorityArg;
use super::values::{parse_duration, parse_limit, parse_resource, parse_window};

/// The exit statuses of `cvstore fetch`, as `--help` states them.
pub const FETCH_STATUSES: &str = "Exit status: 0 a 2xx or 3xx answer, 1 failure (an upstream 5xx \
     or connection error after the retries, another 4xx, a store error), 2 invalid usage (a \
     bad URL, a scheme other than http, bad flags: nothing was sent), 3 not found (upstream \
     answered 404).";

/// `cvstore fetch URL`: one GET through the stores of the global flags.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The URL to GET, e.g. `https://comicvine.gamespot.com/api/issues/?api_key=K&format=json`
    /// (http or https, trusting the system's root certificates, or those of the PEM file
    /// `SSL_CERT_FILE` names; the credential parameters such as `api_key` are left out
    /// of the cache key and never printed).
    #[arg(value_parser = parse_url)]
    pub url: url::Url,

    /// The rate-limit resource [default: the first path segment after an optional
    /// `api/`, as the middleware derives it, e.g. `issues`].
    #[arg(long, value_parser = parse_resource)]
    pub resource: Option<String>,

    /// The request's priority with the adaptive rate limiter.
    #[arg(long, value_enum, default_value_t = PriorityArg::User)]
    pub priority: PriorityArg,

    /// Requests per window of the resource [default: 200, Comic Vine's].
    #[arg(long, value_name = "N", value_parser = parse_limit)]
    pub limit: Option<u32>,

    /// The rate-limit window, e.g. `1h` [default: 1h, Comic Vine's].
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    pub window: Option<Duration>,

    /// Answer a stale cache entry, at most this long past its freshness, when upstream
    /// fails [default: off].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub stale_if_error: Option<Duration>,

    /// Answer a stale cache entry, at most this long past its freshness, when the rate
    /// limit would wait longer than `--max-wait` or a 429/420 cooldown runs [default: off].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub stale_if_rate_limited: Option<Duration>,

    /// The longest wait for the rate limit before failing (or answering stale) [default:
    /// 60s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_wait: Option<Duration>,

    /// Print the status line and the headers before the body.
    #[arg(short = 'i', long)]
    pub include: bool,
}

/// An absolute `http://` or `https://` URL with a host.
fn parse_url(raw: &str) -> Result<url::Url, String> {
    // The messages name the URL with its credentials masked.
    let masked = mask_query_text(raw);
    let text = masked.as_str();
    let url = url::Url::parse(raw).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "{text:?}: the scheme {other}:// is not http:// or https://"
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host"));
    }
    Ok(url)
}

/// `text` (a URL, or what was meant as one) with the value of every credential
/// parameter (`api_key=…`, see `DEFAULT_CREDENTIAL_PARAMS`) replaced by `***`.
pub fn mask_query_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(['?', '&', ';']) {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let end = rest.find(['&', ';', '#', ' ']).unwrap_or(rest.len());
        let (pair, after) = rest.split_at(end);
        match pair.split_once('=') {
            Some((name, value))
                if !value.is_empty()
                    && comic_vine_http::DEFAULT_CREDENTIAL_PARAMS
                        .iter()
                        .any(|c| c.eq_ignore_ascii_case(name)) =>
            {
                out.push_str(name);
                out.push_str("=***");
            }
            _ => out.push_str(pair),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_with_a_host() {
        assert!(parse_url("http://127.0.0.1:1/api/issues/?limit=1").is_ok());
        assert!(
            parse_url("ftp://example.org/x")
                .unwrap_err()
                .contains("ftp://")
        );
        assert!(parse_url("https://x/").is_ok());
        assert!(parse_url("not a url").unwrap_err().contains("is not a URL"));
        let refused = parse_url("ftp://h/x?a=1&API_KEY=SECRET&limit=2").unwrap_err();
        assert!(refused.contains("?a=1&API_KEY=***&limit=2"), "{refused}");
        assert_eq!(mask_query_text("x?token=t#f"), "x?token=***#f");
    }
}

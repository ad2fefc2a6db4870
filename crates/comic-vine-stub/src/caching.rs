//! The stub's optional HTTP caching headers: `Cache-Control: max-age`, `ETag` and
//! `Last-Modified`, and `304 Not Modified` to conditional requests that match.

use std::time::Duration;

/// The `Last-Modified` of every answer (the stub's data never changes).
pub const LAST_MODIFIED: &str = "Fri, 06 Jun 2008 11:10:16 GMT";

/// Which caching headers the stub sends with its 200 answers.
///
/// The default sends none, like the real Comic Vine API ("sparse"); [`full`](Self::full)
/// sends all of them and answers conditional requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StubCaching {
    /// `Cache-Control: max-age=N` (whole seconds, rounded down).
    pub max_age: Option<Duration>,
    /// `ETag` (a hash of the body) and `Last-Modified` ([`LAST_MODIFIED`]), and `304`
    /// to a request whose `If-None-Match` names the `ETag` (or `*`) or, without
    /// `If-None-Match`, whose `If-Modified-Since` is exactly [`LAST_MODIFIED`].
    pub validators: bool,
    /// More `Cache-Control` directives, after `max-age` (e.g. `must-revalidate`,
    /// `no-store`).
    pub directives: Option<String>,
    /// With `validators`: which `ETag` is sent and matched (default: a hash of the body).
    pub etag: StubEtag,
    /// More header lines sent with every 200 and `304` answer (name, value).
    pub headers: Vec<(String, String)>,
}

/// The `ETag` the stub sends with `validators` on, and that `If-None-Match` must name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StubEtag {
    /// A quoted hash of the body.
    #[default]
    BodyHash,
    /// This one (give it quoted, e.g. `"\"v2\""`), whatever the body.
    Fixed(String),
    /// None: only `Last-Modified` validates.
    None,
}

impl StubCaching {
    /// No caching headers, like Comic Vine.
    pub fn sparse() -> Self {
        Self::default()
    }

    /// `max-age` of `max_age`, validators and `304`s.
    pub fn full(max_age: Duration) -> Self {
        Self {
            max_age: Some(max_age),
            validators: true,
            ..Self::default()
        }
    }

    /// The same headers with `etag` as the `ETag`.
    pub fn with_etag(mut self, etag: StubEtag) -> Self {
        self.etag = etag;
        self
    }

    /// The same headers and the header `name: value` on every 200 and `304`.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same headers with `directives` added to `Cache-Control`.
    pub fn with_directives(mut self, directives: &str) -> Self {
        self.directives = Some(directives.to_owned());
        self
    }
}

/// A request's conditional headers.
#[derive(Debug, Default)]
pub(crate) struct Conditional {
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
}

impl Conditional {
    pub(crate) fn is_conditional(&self) -> bool {
        self.if_none_match.is_some() || self.if_modified_since.is_some()
    }
}

/// The `ETag` of `body`: a quoted FNV-1a hash.
pub(crate) fn etag(body: &str) -> String {
    let h = body.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{h:016x}\"")
}

/// The `ETag` `caching` sends for `body`, if any.
fn etag_of(caching: &StubCaching, body: &str) -> Option<String> {
    match &caching.etag {
        StubEtag::BodyHash => Some(etag(body)),
        StubEtag::Fixed(tag) => Some(tag.clone()),
        StubEtag::None => None,
    }
}

/// The caching header lines for a 200 (or `304`) answer with `body`.
pub(crate) fn header_lines(caching: &StubCaching, body: &str) -> String {
    let mut lines = String::new();
    let max_age = caching.max_age.map(|d| format!("max-age={}", d.as_secs()));
    let directives: Vec<&str> = [max_age.as_deref(), caching.directives.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !directives.is_empty() {
        lines.push_str(&format!("cache-control: {}\r\n", directives.join(", ")));
    }
    if caching.validators {
        if let Some(tag) = etag_of(caching, body) {
            lines.push_str(&format!("etag: {tag}\r\n"));
        }
        lines.push_str(&format!("last-modified: {LAST_MODIFIED}\r\n"));
    }
    for (name, value) in &caching.headers {
        lines.push_str(&format!("{name}: {value}\r\n"));
    }
    lines
}

/// Whether `request` is answered `304` for `body`.
pub(crate) fn not_modified(caching: &StubCaching, request: &Conditional, body: &str) -> bool {
    if !caching.validators {
        return false;
    }
    let weak = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    match (&request.if_none_match, &request.if_modified_since) {
        (Some(tags), _) => {
            let current = etag_of(caching, body).map(|t| weak(&t));
            tags.split(',')
                .any(|t| t.trim() == "*" || Some(weak(t)) == current)
        }
        (None, Some(since)) => since.trim() == LAST_MODIFIED,
        (None, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_etags_weakly_and_last_modified_exactly() {
        let full = StubCaching::full(Duration::from_secs(60));
        let tag = etag("body");
        let cond = |inm: Option<&str>, ims: Option<&str>| Conditional {
            if_none_match: inm.map(str::to_owned),
            if_modified_since: ims.map(str::to_owned),
        };
        assert!(not_modified(&full, &cond(Some(&tag), None), "body"));
        assert!(not_modified(
            &full,
            &cond(Some(&format!("\"x\", W/{tag}")), None),
            "body"
        ));
        assert!(not_modified(&full, &cond(Some("*"), None), "body"));
        assert!(!not_modified(&full, &cond(Some(&tag), None), "other"));
        assert!(!not_modified(
            &full,
            &cond(Some("\"x\""), Some(LAST_MODIFIED)),
            "body"
        ));
        assert!(not_modified(
            &full,
            &cond(None, Some(LAST_MODIFIED)),
            "body"
        ));
        assert!(!not_modified(
            &full,
            &cond(None, Some("Sat, 07 Jun 2008 11:10:16 GMT")),
            "body"
        ));
        assert!(!not_modified(
            &StubCaching::sparse(),
            &cond(Some(&tag), None),
            "body"
        ));
        let fixed = full
            .clone()
            .with_etag(StubEtag::Fixed("\"v2\"".into()))
            .with_header("content-language", "fr");
        assert!(not_modified(&fixed, &cond(Some("\"v2\""), None), "body"));
        assert!(!not_modified(&fixed, &cond(Some(&tag), None), "body"));
        assert_eq!(
            header_lines(&fixed, "body"),
            format!(
                "cache-control: max-age=60\r\netag: \"v2\"\r\nlast-modified: {LAST_MODIFIED}\r\n\
                 content-language: fr\r\n"
            )
        );
        let dated = full.clone().with_etag(StubEtag::None);
        assert!(!not_modified(&dated, &cond(Some(&tag), None), "body"));
        assert!(not_modified(
            &dated,
            &cond(None, Some(LAST_MODIFIED)),
            "body"
        ));
        assert!(!header_lines(&dated, "body").contains("etag"));
        assert_eq!(header_lines(&StubCaching::sparse(), "body"), "");
        assert_eq!(
            header_lines(&full, "body"),
            format!(
                "cache-control: max-age=60\r\netag: {tag}\r\nlast-modified: {LAST_MODIFIED}\r\n"
            )
        );
    }
}

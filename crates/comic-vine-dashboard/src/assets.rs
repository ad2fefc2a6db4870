//! The page's files, embedded in the binary and served from a fixed map: a path is
//! served only if it is exactly one of the map's keys (no decoding, no file system), so
//! `/../../etc/passwd`, `%2e%2e%2f` and every other variant is a 404.

/// The page (every view is the same page; its script picks the view from the path).
const INDEX: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/app.js");
const CHART: &str = include_str!("../assets/chart.js");
const STYLE: &str = include_str!("../assets/style.css");

/// Where the CSRF token goes in the page.
const TOKEN_SLOT: &str = "{{CSRF_TOKEN}}";
/// Where "true"/"false" (writes allowed) goes in the page.
const WRITES_SLOT: &str = "{{ALLOW_WRITES}}";

/// The paths of the views (each serves the page).
pub(crate) const VIEWS: [&str; 5] = ["/", "/overview", "/ratelimits", "/cache", "/dedupe"];

/// One embedded file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Asset {
    /// Its `Content-Type`.
    pub(crate) content_type: &'static str,
    /// Its body.
    pub(crate) body: String,
}

/// The file served at `path`, if any. The page carries `token` only when writes are
/// allowed (an empty token otherwise, so a read-only page can change nothing).
pub(crate) fn lookup(path: &str, token: &str, allow_writes: bool) -> Option<Asset> {
    let (content_type, body) = match path {
        p if VIEWS.contains(&p) => (
            "text/html; charset=utf-8",
            INDEX
                .replace(TOKEN_SLOT, if allow_writes { token } else { "" })
                .replace(WRITES_SLOT, if allow_writes { "true" } else { "false" }),
        ),
        "/app.js" => ("text/javascript; charset=utf-8", SCRIPT.to_owned()),
        "/chart.js" => ("text/javascript; charset=utf-8", CHART.to_owned()),
        "/style.css" => ("text/css; charset=utf-8", STYLE.to_owned()),
        _ => return None,
    };
    Some(Asset { content_type, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_fixed_paths_are_served() {
        for p in VIEWS.iter().chain(&["/app.js", "/chart.js", "/style.css"]) {
            assert!(lookup(p, "t", false).is_some(), "{p}");
        }
        for p in [
            "/../../etc/passwd",
            "/%2e%2e%2fetc%2fpasswd",
            "/app.js/",
            "//app.js",
            "/APP.JS",
            "/assets/app.js",
            "",
        ] {
            assert_eq!(lookup(p, "t", false), None, "{p}");
        }
    }

    #[test]
    fn the_token_is_in_the_page_only_with_writes() {
        let ro = lookup("/", "secret-token", false).unwrap().body;
        assert!(!ro.contains("secret-token") && !ro.contains(TOKEN_SLOT));
        let rw = lookup("/", "secret-token", true).unwrap().body;
        assert!(rw.contains("secret-token") && rw.contains("content=\"true\""));
    }
}

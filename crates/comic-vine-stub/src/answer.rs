//! The answer to one request: the path's resource and object, counted against the
//! stub's limit (a `420` past it), or a Comic Vine-shaped body.

use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::{Value, json};

use crate::bodies::{list_body, object_body, object_number};
use crate::{Shared, StubCall, calls};

/// The answer to one request.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: &'static str,
    pub(crate) body: String,
    /// `Retry-After` in seconds.
    pub(crate) retry_after: Option<u64>,
}

impl Answer {
    pub(crate) fn new(status: &'static str, body: Value) -> Self {
        Self {
            status,
            body: body.to_string(),
            retry_after: None,
        }
    }
}

/// The answer for `path` (`/api/<resource>/…`), counting the call.
pub(crate) fn answer(shared: &Shared, path: &str) -> Answer {
    let not_found = || {
        Answer::new(
            "404 Not Found",
            json!({"error": "Object Not Found", "status_code": 101, "results": []}),
        )
    };
    let path_only = path.split('?').next().unwrap_or_default();
    let mut segments = path_only
        .trim_start_matches("/api/")
        .split('/')
        .filter(|s| !s.is_empty());
    let resource = segments.next().unwrap_or_default().to_owned();
    if resource.is_empty() {
        return not_found();
    }
    let object_id = segments.next();
    let over = {
        let mut calls = shared.calls.lock().unwrap_or_else(|p| p.into_inner());
        let (recent, total) = calls.per_resource.entry(resource.clone()).or_default();
        let now = Instant::now();
        recent.retain(|&t| now.duration_since(t) < shared.config.window);
        recent.push(now);
        *total += 1;
        let in_window = recent.len();
        if calls.log.len() < calls::MAX_LOGGED {
            calls.log.push(StubCall {
                resource: resource.clone(),
                at: now.duration_since(shared.started),
                in_window,
            });
        }
        in_window > shared.config.limit
    };
    if over {
        shared.violations.fetch_add(1, Ordering::Relaxed);
        let body = json!({"error": "Rate Limit Exceeded. Slow down cowboy.", "status_code": 107});
        return Answer {
            retry_after: shared
                .config
                .retry_after
                .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0)),
            ..Answer::new("420 Enhance Your Calm", body)
        };
    }
    match object_id {
        None => Answer::new("200 OK", list_body(&resource, path)),
        Some(id) => match object_number(id) {
            Some(n) => Answer::new("200 OK", object_body(&resource, id, n)),
            None => not_found(),
        },
    }
}

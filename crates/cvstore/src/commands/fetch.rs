//! `cvstore fetch URL`: one GET through the stores of the global flags, with
//! comic-vine-http's [`HttpPipeline`] over hyper-util's client (the rules of the tower
//! layer and the reqwest middleware: the same keys, so the same cache entries).

use std::error::Error as StdError;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use comic_vine_http::{
    BoxError, CachedResponse, DEFAULT_CREDENTIAL_PARAMS, HttpPipeline, Limited, Outcome,
    ResponseExt, RetryPolicy, adaptive_rate_limit_hook, default_resource, send_with_retries,
    served_by_name,
};
use comic_vine_store::memory::{MemoryAdaptiveRateLimitStore, MemoryCacheStore, MemoryDedupeStore};
use comic_vine_store::pipeline::{Pipeline, PipelineConfig, PipelineError, ServedBy, StalePolicy};
use comic_vine_store::{
    AdaptiveConfig, AdaptiveRateLimitStore, CacheStore, DedupeStore, Priority, RateLimit,
    RateLimitConfig,
};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderValue, USER_AGENT};
use hyper::{HeaderMap, Method, Request, StatusCode, Uri};
use serde_json::{Map, Value, json};
use url::Url;

use super::backend::Backend;
use super::output;
use crate::cli::{
    EXIT_FAILURE, EXIT_NOT_FOUND, FetchArgs, PriorityArg, StoreArgs, StoreSpec, mask_query_text,
};
use crate::failure::{Classified, UsageError, one_line};

/// Comic Vine's limit: 200 requests per resource per hour.
const DEFAULT_LIMIT: u32 = 200;
const DEFAULT_WINDOW: Duration = Duration::from_secs(3600);
/// How long the owner waits for the rate limit by default.
const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(60);

/// The stores a fetch goes through.
struct Stores {
    cache: Arc<dyn CacheStore<CachedResponse>>,
    dedupe: Arc<dyn DedupeStore<CachedResponse>>,
    limiter: Arc<dyn AdaptiveRateLimitStore>,
}

/// What came back, however it was served.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    served_by: ServedBy,
    age_seconds: u64,
}

/// Runs `cvstore fetch`.
pub async fn run(args: FetchArgs, store: &StoreArgs, json: bool) -> anyhow::Result<()> {
    // Everything is checked before connecting: a refused command line sends nothing.
    let uri: Uri = args
        .url
        .as_str()
        .parse()
        .map_err(|e| UsageError(format!("invalid URL: {e}")))?;
    let resource = args
        .resource
        .clone()
        .unwrap_or_else(|| default_resource(&uri));
    let (limits, adaptive) = limits(&args)?;
    let priority = match args.priority {
        PriorityArg::User => Priority::User,
        PriorityArg::Background => Priority::Background,
    };
    let max_wait = args.max_wait.unwrap_or(DEFAULT_MAX_WAIT);
    let config = PipelineConfig {
        max_wait,
        stale: StalePolicy {
            stale_if_error: args.stale_if_error.unwrap_or_default(),
            stale_if_rate_limited: args.stale_if_rate_limited.unwrap_or_default(),
            ..StalePolicy::none()
        },
        ..PipelineConfig::default()
    };
    let stores = open(store, limits, adaptive).await?;
    let pipeline = Pipeline::<CachedResponse>::builder()
        .cache(stores.cache)
        .dedupe(stores.dedupe)
        .adaptive_rate_limit(Arc::clone(&stores.limiter))
        .config(config)
        .build();
    let fixed = resource.clone();
    let http = HttpPipeline::new(Arc::new(pipeline))
        .default_priority(priority)
        .resource_fn(move |_| fixed.clone());
    let prepared = http
        .prepare(&Method::GET, &uri, &HeaderMap::new(), Some(priority))
        .ok_or_else(|| {
            UsageError(format!(
                "{} is not an absolute http URL",
                masked_url(&args.url)
            ))
        })?;
    let endpoint = prepared.endpoint().to_owned();

    let client = super::https::client(uri.scheme_str() == Some("https"))?;
    let hook = adaptive_rate_limit_hook(stores.limiter, max_wait);
    let attempts = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&attempts);
    let upstream = |conditional: &HeaderMap| {
        let (conditional, uri) = (conditional.clone(), uri.clone());
        async move {
            // The pipeline granted the first attempt; each retry asks the limiter.
            let mut first = true;
            let acquire = || {
                let granted = std::mem::replace(&mut first, false);
                let (hook, resource) = (Arc::clone(&hook), resource.clone());
                async move {
                    if granted {
                        Ok(())
                    } else {
                        hook(&resource, priority).await
                    }
                }
            };
            let send = || client.request(get(&uri, &conditional));
            let retried = send_with_retries(&RetryPolicy::default(), None, acquire, send).await;
            counted.store(retried.attempts, Ordering::Relaxed);
            match retried.result {
                Ok(answer) => answer.map_err(|e| Box::new(e) as BoxError),
                Err(Limited(why)) => Err(BoxError::from(why)),
            }
        }
    };
    let fail = |status, kind, message: String| Classified {
        status,
        kind,
        message: mask(message, &args.url),
    };
    let answer = match http.execute_conditional(&prepared, upstream).await {
        Outcome::Served(response) => {
            let served = response.served();
            let (parts, body) = response.into_parts();
            Answer {
                status: parts.status,
                headers: parts.headers,
                body,
                served_by: served.map_or(ServedBy::Upstream, |s| s.by),
                age_seconds: served.map_or(0, |s| s.age.as_secs()),
            }
        }
        Outcome::Upstream(Ok(response)) => {
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|e| {
                fail(
                    EXIT_FAILURE,
                    "upstream",
                    format!("{endpoint}: reading the answer failed: {}", chain(&e)),
                )
            })?;
            Answer {
                status: parts.status,
                headers: parts.headers,
                body: body.to_bytes(),
                served_by: ServedBy::Upstream,
                age_seconds: 0,
            }
        }
        Outcome::Upstream(Err(e)) => {
            let tries = match attempts.load(Ordering::Relaxed) {
                0 | 1 => String::new(),
                n => format!(" after {n} attempts"),
            };
            let message = format!("{endpoint} failed{tries}: {}", chain(e.as_ref()));
            return Err(fail(EXIT_FAILURE, "upstream", message).into());
        }
        Outcome::Failed(e) => {
            let (kind, message) = match e.pipeline_error() {
                // The store's own message: what is below it is the SDK's internals.
                PipelineError::Store(store) => (
                    store.kind(),
                    format!("{endpoint} through the stores: {store}"),
                ),
                PipelineError::WaitTooLong { .. } => ("rate_limited", String::new()),
                _ => ("pipeline", String::new()),
            };
            let message = if message.is_empty() {
                one_line(&anyhow::Error::new(e))
            } else {
                message
            };
            return Err(fail(EXIT_FAILURE, kind, message).into());
        }
    };
    let status = answer.status;
    if status == StatusCode::NOT_FOUND {
        let message = format!("not found: {endpoint} answered {}", status_text(status));
        return Err(fail(EXIT_NOT_FOUND, "not_found", message).into());
    }
    if !(status.is_success() || status.is_redirection()) {
        let message = format!("{endpoint} answered {}", status_text(status));
        return Err(fail(EXIT_FAILURE, "upstream_status", message).into());
    }
    print(&answer, args.include, json)
}

/// The plain and adaptive limits of the flags.
fn limits(args: &FetchArgs) -> Result<(RateLimitConfig, AdaptiveConfig), UsageError> {
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    let window = args.window.unwrap_or(DEFAULT_WINDOW);
    let rate = RateLimit::new(limit, window)
        .map_err(|e| UsageError(format!("invalid --limit/--window: {e}")))?;
    let adaptive = AdaptiveConfig {
        min_user_reserved: AdaptiveConfig::default()
            .min_user_reserved
            .min(limit.saturating_sub(1)),
        ..AdaptiveConfig::default()
    };
    Ok((RateLimitConfig::new(rate), adaptive))
}

/// The stores of the global flags: in memory for `--store memory` (ending with the
/// command), else the SQLite file or the DynamoDB table.
async fn open(
    store: &StoreArgs,
    limits: RateLimitConfig,
    adaptive: AdaptiveConfig,
) -> anyhow::Result<Stores> {
    if store.store == Some(StoreSpec::Memory) {
        return Ok(Stores {
            cache: Arc::new(MemoryCacheStore::new()),
            dedupe: Arc::new(MemoryDedupeStore::new()),
            limiter: Arc::new(MemoryAdaptiveRateLimitStore::new(limits, adaptive)?),
        });
    }
    let backend = Backend::open(store, Some((limits, adaptive))).await?;
    let (cache, dedupe) = backend.cache_and_dedupe::<CachedResponse>()?;
    Ok(Stores {
        cache: cache.shared(),
        dedupe: dedupe.shared(),
        limiter: backend.adaptive()?.shared(),
    })
}

/// A GET of `uri` with the `conditional` headers of a revalidation.
fn get(uri: &Uri, conditional: &HeaderMap) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::default());
    *request.uri_mut() = uri.clone();
    request.headers_mut().insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("cvstore/", env!("CARGO_PKG_VERSION"))),
    );
    for (name, value) in conditional {
        request.headers_mut().insert(name, value.clone());
    }
    request
}

/// Prints the answer: the body; with `include` the status line and headers first; with
/// `json` one object.
fn print(answer: &Answer, include: bool, json: bool) -> anyhow::Result<()> {
    if json {
        let (body, encoding) = match std::str::from_utf8(&answer.body) {
            Ok(text) => (text.to_owned(), "utf-8"),
            Err(_) => (STANDARD.encode(&answer.body), "base64"),
        };
        return output::json(&json!({
            "status": answer.status.as_u16(),
            "served_by": served_by_name(answer.served_by),
            "age_seconds": answer.age_seconds,
            "headers": headers_json(&answer.headers),
            "body": body,
            "body_encoding": encoding,
        }));
    }
    let mut out = Vec::with_capacity(answer.body.len() + 512);
    if include {
        writeln!(out, "HTTP/1.1 {}", status_text(answer.status))?;
        for (name, value) in &answer.headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    out.extend_from_slice(&answer.body);
    output::bytes(&out)
}

/// The headers as a JSON object: each name's value, or its values in order when it is
/// repeated.
fn headers_json(headers: &HeaderMap) -> Value {
    let mut object = Map::new();
    for name in headers.keys() {
        let mut values: Vec<Value> = headers
            .get_all(name)
            .iter()
            .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let value = if values.len() == 1 {
            values.remove(0)
        } else {
            Value::Array(values)
        };
        object.insert(name.as_str().to_owned(), value);
    }
    Value::Object(object)
}

/// `404 Not Found`, or the bare code when it has no standard reason.
fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// `err` and its causes on one line, each once.
fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut line = String::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        next = e.source();
    }
    line
}

/// The values of `url`'s credential parameters (e.g. `api_key`), as written in the URL
/// and decoded.
fn credentials(url: &Url) -> Vec<String> {
    let mut values = Vec::new();
    for pair in url.query().unwrap_or_default().split('&') {
        let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let name: String = url::form_urlencoded::parse(name.as_bytes())
            .map(|(n, _)| n.into_owned())
            .collect();
        let credential = DEFAULT_CREDENTIAL_PARAMS
            .iter()
            .any(|c| c.eq_ignore_ascii_case(&name));
        if credential && !raw.is_empty() {
            values.push(raw.to_owned());
            values
                .extend(url::form_urlencoded::parse(pair.as_bytes()).map(|(_, v)| v.into_owned()));
        }
    }
    // The longest first, so that no part of a value is left behind.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values
}

/// `text` with the values of `url`'s credential parameters replaced by `***`.
fn mask(text: String, url: &Url) -> String {
    let mut text = mask_query_text(&text);
    for secret in credentials(url) {
        if !secret.is_empty() {
            text = text.replace(&secret, "***");
        }
    }
    text
}

/// `url` with its credentials masked, for messages.
fn masked_url(url: &Url) -> String {
    mask(url.to_string(), url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_masked() {
        let url = Url::parse("http://h/api/issues/?API_KEY=s%20cret&limit=1").unwrap();
        assert_eq!(masked_url(&url), "http://h/api/issues/?API_KEY=***&limit=1");
        assert_eq!(mask("said s cret".into(), &url), "said ***");
    }

    #[test]
    fn repeated_headers_are_arrays() {
        let mut headers = HeaderMap::new();
        headers.append("a", HeaderValue::from_static("1"));
        headers.append("a", HeaderValue::from_static("2"));
        headers.append("b", HeaderValue::from_static("x"));
        assert_eq!(headers_json(&headers), json!({"a": ["1", "2"], "b": "x"}));
    }
}

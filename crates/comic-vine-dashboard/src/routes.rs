//! Request handling: the checks every request passes (Host, method, body size, CSRF),
//! then the page's files, the JSON API and the mutations.

use bytes::Bytes;
use comic_vine_store::StoreError;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::DashboardSource;
use crate::source::ResourceId;
use crate::{State, api, assets, lookup};

/// The header carrying the CSRF token of a mutation.
pub(crate) const TOKEN_HEADER: &str = "x-csrf-token";

/// Answers one request.
pub(crate) async fn handle(req: Request<Incoming>, state: &State) -> Response<Full<Bytes>> {
    if !host_allowed(&req, state) {
        // DNS rebinding: a page of another site reaching us under its own name.
        return error(StatusCode::MISDIRECTED_REQUEST, "unknown Host");
    }
    let path = req.uri().path().to_owned();
    match (req.method().clone(), path.as_str()) {
        (Method::GET | Method::HEAD, "/api/overview") => api_json(api::overview(state).await),
        (Method::GET | Method::HEAD, "/api/ratelimits") => api_json(api::rate_limits(state).await),
        (Method::GET | Method::HEAD, "/api/cache") => {
            api_json(api::cache(state, api::list_limit(req.uri().query())).await)
        }
        (Method::GET | Method::HEAD, "/api/dedupe") => api_json(api::dedupe(state).await),
        (Method::GET | Method::HEAD, "/api/cache/entry") => {
            let key = lookup::query_param(req.uri().query(), "key");
            match lookup::cache_entry(state, key.as_deref()).await {
                Ok((status, doc)) => respond(
                    status,
                    "application/json",
                    serde_json::to_vec(&doc).unwrap_or_default().into(),
                ),
                Err(e) => store_error(&e),
            }
        }
        (
            Method::POST,
            "/api/ratelimits/reset" | "/api/cache/delete" | "/api/cache/clear" | "/api/cache/purge",
        ) => mutate(req, &path, state).await,
        (_, p) if p.starts_with("/api/") => error(StatusCode::NOT_FOUND, "no such API"),
        (Method::GET | Method::HEAD, p) => {
            match assets::lookup(p, &state.token, state.allow_writes) {
                Some(asset) => respond(StatusCode::OK, asset.content_type, asset.body.into()),
                None => error(StatusCode::NOT_FOUND, "not found"),
            }
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
    }
}

fn host_allowed(req: &Request<Incoming>, state: &State) -> bool {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    host.is_some_and(|h| state.allowed_hosts.contains(&h))
}

/// A mutation's body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MutationBody {
    resource: Option<String>,
    limiter: Option<crate::Limiter>,
    key: Option<String>,
}

/// Counts a mutation by path and outcome (`done`, `failed`, `invalid`, `refused`).
fn count(path: &str, outcome: &'static str) {
    metrics::counter!("dashboard_mutations_total", "path" => path.to_owned(), "outcome" => outcome)
        .increment(1);
}

async fn mutate(req: Request<Incoming>, path: &str, state: &State) -> Response<Full<Bytes>> {
    let resp = mutate_inner(req, path, state).await;
    count(
        path,
        match resp.status() {
            StatusCode::OK => "done",
            StatusCode::BAD_GATEWAY => "failed",
            StatusCode::BAD_REQUEST => "invalid",
            _ => "refused",
        },
    );
    resp
}

async fn mutate_inner(req: Request<Incoming>, path: &str, state: &State) -> Response<Full<Bytes>> {
    if !state.allow_writes {
        tracing::warn!(path, "dashboard mutation refused: writes are not allowed");
        return error(StatusCode::FORBIDDEN, "this dashboard is read-only");
    }
    let token_ok = req
        .headers()
        .get(TOKEN_HEADER)
        .is_some_and(|t| constant_time_eq(t.as_bytes(), state.token.as_bytes()));
    if !token_ok {
        tracing::warn!(
            path,
            "dashboard mutation refused: missing or wrong CSRF token"
        );
        return error(StatusCode::FORBIDDEN, "missing or wrong CSRF token");
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let ok = origin.to_str().ok().is_some_and(|o| {
            state
                .allowed_hosts
                .iter()
                .any(|h| o.eq_ignore_ascii_case(&format!("http://{h}")))
        });
        if !ok {
            return error(StatusCode::FORBIDDEN, "cross-origin request");
        }
    }
    let body = match read_body(req, state.body_limit).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let result = match apply(path, body, &*state.source).await {
        Ok(result) => result,
        Err((status, message)) => return error(status, &message),
    };
    match result {
        Ok(v) => {
            tracing::info!(path, result = %v, "dashboard mutation done");
            api_json(v)
        }
        Err(e) => {
            tracing::warn!(path, error = %e, "dashboard mutation failed");
            store_error(&e)
        }
    }
}

/// Applies the mutation `path` names with `body`: the store's answer, or the status
/// and message refusing the body (400 without a required field, 404 for an unknown
/// resource).
async fn apply(
    path: &str,
    body: MutationBody,
    source: &dyn DashboardSource,
) -> Result<Result<Value, StoreError>, (StatusCode, String)> {
    Ok(match path {
        "/api/ratelimits/reset" => {
            let id = ResourceId {
                resource: required(body.resource, "resource")?,
                limiter: body.limiter.unwrap_or(crate::Limiter::Plain),
            };
            if !source.resources().contains(&id) {
                let message = "no such resource on this dashboard";
                return Err((StatusCode::NOT_FOUND, message.to_owned()));
            }
            tracing::info!(resource = %id.resource, limiter = %id.limiter, "dashboard: reset");
            source.reset(&id).await.map(|()| json!({"reset": id}))
        }
        "/api/cache/delete" => {
            let key = required(body.key, "key")?;
            tracing::info!(key = %key, "dashboard: delete cache entry");
            let deleted = source.delete_cache_entry(&key).await;
            deleted.map(|()| json!({"deleted": key}))
        }
        "/api/cache/purge" => {
            let resource = required(body.resource, "resource")?;
            tracing::info!(resource = %resource, "dashboard: purge cache resource");
            let removed = source.purge_cache_resource(&resource).await;
            removed.map(|n| json!({"resource": resource, "removed": n}))
        }
        _ => {
            tracing::info!("dashboard: clear cache");
            source.clear_cache().await.map(|n| json!({"removed": n}))
        }
    })
}

/// The body's `name` field, or the 400 refusal saying it is required.
fn required<T>(value: Option<T>, name: &str) -> Result<T, (StatusCode, String)> {
    value.ok_or_else(|| (StatusCode::BAD_REQUEST, format!("`{name}` is required")))
}

async fn read_body(
    req: Request<Incoming>,
    limit: usize,
) -> Result<MutationBody, Response<Full<Bytes>>> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        ));
    }
    let bytes = match Limited::new(req.into_body(), limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
            ));
        }
        Err(_) => return Err(error(StatusCode::BAD_REQUEST, "unreadable request body")),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(MutationBody::default());
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}")))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn api_json(value: Value) -> Response<Full<Bytes>> {
    respond(
        StatusCode::OK,
        "application/json",
        serde_json::to_vec(&value).unwrap_or_default().into(),
    )
}

/// A store's error as the API's error document: 400 for input the store refuses (the
/// request's fault), 502 for any other failure of the store.
fn store_error(e: &StoreError) -> Response<Full<Bytes>> {
    let status = match e {
        StoreError::InvalidInput { .. } => StatusCode::BAD_REQUEST,
        _ => StatusCode::BAD_GATEWAY,
    };
    error(status, &e.to_string())
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = json!({"error": {"status": status.as_u16(), "message": message}});
    respond(
        status,
        "application/json",
        serde_json::to_vec(&body).unwrap_or_default().into(),
    )
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    resp
}

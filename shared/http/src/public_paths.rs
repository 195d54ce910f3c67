//! The paths and origin clients see, where a deployment moves them (`PULP_API_ROOT`,
//! `PULP_CONTENT_PATH_PREFIX`, a proxy's `X-Forwarded-*`): requests are routed on the default
//! paths (`/pulp/`, `/pulp/content/`), so a request under the public ones is rewritten before
//! routing and a redirect's `Location` is written back after; the default paths themselves
//! are not served then (as in Pulp, where only the configured ones exist).

use axum::extract::Request;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use depot_core::hrefs::{API_ROOT, ROUTED_ROOT, public_root};

use crate::AppState;
use crate::error::ApiError;

/// The content app's routed prefix.
pub const ROUTED_CONTENT: &str = "/pulp/content/";

/// The scheme and host absolute URLs of this request start with (`https://example.com`).
#[derive(Debug, Clone)]
pub struct PublicOrigin(pub String);

/// `req` with its path as routes read it, and its public origin in its extensions; `None`
/// for a routed path the deployment does not serve (a 404, see [`not_found`]).
pub fn routed(state: &AppState, mut req: Request) -> Option<Request> {
    let origin = origin(state, &req);
    req.extensions_mut().insert(PublicOrigin(origin));
    let path = req.uri().path();
    let content = state.settings.content_path_prefix.as_str();
    let moved_content = content != ROUTED_CONTENT;
    let moved_api = public_root() != ROUTED_ROOT;
    let api_path = depot_core::hrefs::routed_path(path);
    let new_path = if moved_content && let Some(rest) = path.strip_prefix(content) {
        format!("{ROUTED_CONTENT}{rest}")
    } else if (moved_content && path.starts_with(ROUTED_CONTENT.trim_end_matches('/')))
        || (moved_api && is_api(path))
    {
        return None;
    } else if moved_api && path.starts_with(public_root()) && is_api(&api_path) {
        api_path.into_owned()
    } else {
        return Some(req);
    };
    let uri = match req.uri().query() {
        Some(q) => format!("{new_path}?{q}"),
        None => new_path,
    };
    *req.uri_mut() = uri.parse::<Uri>().ok()?;
    Some(req)
}

/// `/pulp/api/v3/...` or `/pulp/<domain>/api/v3/...`.
fn is_api(path: &str) -> bool {
    path.starts_with(API_ROOT) || depot_core::domain::split_api_path(path).is_some()
}

/// A routed content path as clients see it (under `PULP_CONTENT_PATH_PREFIX`).
pub fn public_content_path(state: &AppState, path: &str) -> String {
    match path.strip_prefix(ROUTED_CONTENT) {
        Some(rest) => format!("{}{rest}", state.settings.content_path_prefix),
        None => path.to_string(),
    }
}

/// A redirect to a routed path points at the public one.
pub fn public(state: &AppState, mut resp: Response) -> Response {
    let Some(location) = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
    else {
        return resp;
    };
    let content = state.settings.content_path_prefix.as_str();
    let moved = if let Some(rest) = location.strip_prefix(ROUTED_CONTENT) {
        format!("{content}{rest}")
    } else if let Some(rest) = location.strip_prefix(ROUTED_ROOT)
        && is_api(location)
    {
        format!("{}{rest}", public_root())
    } else {
        return resp;
    };
    if let Ok(v) = HeaderValue::from_str(&moved) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// `http(s)://host` as the client reached it: the `Host` header, or the proxy's
/// `X-Forwarded-Host` with `PULP_USE_X_FORWARDED_HOST`; `https` when the proxy's header says
/// so (`PULP_SECURE_PROXY_SSL_HEADER`).
fn origin(state: &AppState, req: &Request) -> String {
    let headers = req.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let forwarded = state
        .settings
        .use_x_forwarded_host
        .then(|| text("x-forwarded-host"))
        .flatten()
        // A proxy chain lists every host; the client's is the first.
        .and_then(|h| h.split(',').next())
        .map(str::trim);
    let host = forwarded
        .or_else(|| text(header::HOST.as_str()))
        .filter(|h| valid_host(h))
        .unwrap_or("localhost");
    let https = state
        .settings
        .secure_proxy_ssl_header
        .as_ref()
        .is_some_and(|(name, value)| text(name) == Some(value.as_str()));
    let scheme = if https { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// A host (and port) fit for a URL: no path, query, credentials or spaces.
fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(c))
}

pub fn not_found() -> Response {
    ApiError::from(depot_core::CoreError::NotFound("Not found.".into())).into_response()
}

//! Domains in URLs. With `PULP_DOMAIN_ENABLED`, the API lives under `/pulp/<domain>/api/v3/`:
//! a request there runs in that domain (see `depot_core::domain`) on the route of the plain
//! `/pulp/api/v3/` path, so that no handler sees the domain segment. The plain root is then
//! not served (as in Pulp), and a domain that does not exist is a 404.

use axum::extract::Request;
use axum::http::Uri;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use depot_core::CoreError;
use depot_core::domain::{self, Current};
use depot_core::models::domain::ORG_PREFIX;
use tower::ServiceExt;

use crate::error::ApiError;
use crate::{AppState, auth};

/// Serves `req` with `routes` in the domain its path names.
pub async fn route(core: AppState, routes: axum::Router, req: Request) -> Response {
    if !core.settings.domain_enabled {
        return call(routes, req).await;
    }
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix(depot_core::hrefs::API_ROOT) {
        // The docs, the status and the liveness probe are served outside domains too; nothing
        // else is.
        if !(rest.starts_with("docs/") || rest == "status/" || rest == "livez/") {
            return not_found();
        }
    }
    let Some((name, plain)) = domain::split_api_path(&path) else {
        // The content app, the registry and the index read their own paths.
        return domain::within(Current::default_domain(true), call(routes, req)).await;
    };
    let (parts, body) = req.into_parts();
    let found = match named(&core, name, &parts).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut req = Request::from_parts(parts, body);
    let uri = match req.uri().query() {
        Some(q) => format!("{plain}?{q}"),
        None => plain,
    };
    match uri.parse::<Uri>() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return not_found(),
    }
    domain::within(found, call(routes, req)).await
}

/// The domain `name` (`None`: there is none). An organisation's domain is made when one of its
/// users first signs in, which may be this very request: for such a name, the request's
/// credentials are checked first (wrong ones are an error).
pub async fn named(
    core: &AppState,
    name: &str,
    parts: &Parts,
) -> Result<Option<Current>, CoreError> {
    if let Some(found) = domain::find(core, name).await? {
        return Ok(Some(found));
    }
    if !name.starts_with(ORG_PREFIX) {
        return Ok(None);
    }
    auth::signed_in(core, &parts.method, &parts.headers, &parts.extensions).await?;
    domain::find_fresh(core, name).await
}

async fn call(routes: axum::Router, req: Request) -> Response {
    match routes.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn not_found() -> Response {
    ApiError::from(depot_core::CoreError::NotFound("Not found.".into())).into_response()
}

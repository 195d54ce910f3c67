//! Checks every host makes before a request is routed: what its target may be, and whether
//! its address has failed to sign in too often.

use axum::response::IntoResponse;

use crate::{ApiError, AppState, response};

/// The longest request target (path and query) taken.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Both checks, as one layer (each layer costs every request a little).
pub async fn check(
    axum::extract::State(core): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(refused) = refuse_target(&req) {
        return refused;
    }
    throttle_failed_sign_ins(&core, req, next).await
}

/// Request targets every handler can take: at most [`MAX_URI_BYTES`] (414), and no encoded
/// NUL, which no name or path has and PostgreSQL cannot compare (400).
fn refuse_target(req: &axum::extract::Request) -> Option<axum::response::Response> {
    let target = req.uri().path_and_query().map_or("", |pq| pq.as_str());
    if target.len() > MAX_URI_BYTES {
        return Some(response::json(
            axum::http::StatusCode::URI_TOO_LONG,
            &serde_json::json!({
                "detail": format!("The request URI is longer than {MAX_URI_BYTES} bytes.")
            }),
        ));
    }
    if target.contains("%00") {
        return Some(
            ApiError(depot_core::CoreError::invalid(
                "Null characters are not allowed.",
            ))
            .into_response(),
        );
    }
    None
}

/// An address with many refused sign-ins gets 429 for credentials not verified already,
/// before any password is hashed; verified credentials from it still pass.
async fn throttle_failed_sign_ins(
    core: &AppState,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let address = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let credentials = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let (Some(address), Some(credentials)) = (address, credentials) else {
        return next.run(req).await;
    };
    if depot_core::users::is_empty_basic(&credentials) {
        return next.run(req).await;
    }
    let verified = core.auth_cache.is_verified(&credentials);
    if !verified && core.auth_cache.address_throttled(address) {
        return ApiError(depot_core::CoreError::Throttled(
            "Too many failed sign-ins from this address; try again in a minute.".into(),
        ))
        .into_response();
    }
    let response = next.run(req).await;
    if response.status() == axum::http::StatusCode::UNAUTHORIZED {
        core.auth_cache.address_failed(address);
    }
    response
}

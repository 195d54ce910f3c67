//! HTTP plumbing shared by Depot's API handlers: the one place errors become responses, Basic
//! auth, request bodies in Pulp's three encodings, list queries and pagination, correlation ids,
//! and the OpenAPI document builder.

pub mod auth;
pub mod body;
pub mod cid;
pub mod content_range;
pub mod error;
pub mod files;
pub mod labels;
pub mod list;
pub mod logging;
pub mod on_demand;
pub mod openapi;
pub mod query;
pub mod response;
pub mod server;

pub use auth::Authenticated;
use axum::response::IntoResponse;
pub use body::Fields;
pub use cid::CorrelationId;
pub use error::{ApiError, ApiResult};
pub use query::{ListParams, QueryMap};
pub use response::{accepted, created, dispatched, json, no_content, ok, shaped};

/// Shared state of every router: the domain library's handle.
pub type AppState = depot_core::Core;

/// `routes` as every host serves them: with correlation ids, and without axum's blanket body
/// limit (bodies are bounded where they are read, in [`body`]: JSON and form fields by size,
/// file parts streamed to storage; a 2 MB cap would refuse files).
pub fn app(routes: axum::Router<AppState>, core: AppState) -> axum::Router {
    routes
        .layer(axum::middleware::from_fn_with_state(
            core.clone(),
            forget_served_on_write,
        ))
        .layer(axum::middleware::from_fn_with_state(
            core.clone(),
            throttle_failed_sign_ins,
        ))
        .layer(axum::middleware::from_fn(check_target))
        .layer(axum::middleware::from_fn(cid::layer))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(core)
}

/// The longest request target (path and query) taken.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Request targets every handler can take: at most [`MAX_URI_BYTES`] (414), and no encoded
/// NUL, which no name or path has and PostgreSQL cannot compare (400).
async fn check_target(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let target = req.uri().path_and_query().map_or("", |pq| pq.as_str());
    if target.len() > MAX_URI_BYTES {
        return response::json(
            axum::http::StatusCode::URI_TOO_LONG,
            &serde_json::json!({
                "detail": format!("The request URI is longer than {MAX_URI_BYTES} bytes.")
            }),
        );
    }
    if target.contains("%00") {
        return ApiError(depot_core::CoreError::invalid(
            "Null characters are not allowed.",
        ))
        .into_response();
    }
    next.run(req).await
}

/// An address with many refused sign-ins gets 429 for credentials not verified already,
/// before any password is hashed; verified credentials from it still pass.
async fn throttle_failed_sign_ins(
    axum::extract::State(core): axum::extract::State<AppState>,
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
        .map(|v| v.as_bytes().to_vec());
    let (Some(address), Some(credentials)) = (address, credentials) else {
        return next.run(req).await;
    };
    let credentials = String::from_utf8_lossy(&credentials);
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

/// A write may change what the content app serves (most changes come through tasks, which
/// tell the cache themselves; this covers the rest).
async fn forget_served_on_write(
    axum::extract::State(core): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let write = !req.method().is_safe();
    let response = next.run(req).await;
    if write {
        core.serving_cache.invalidate();
    }
    response
}

pub use server::serve;

/// Resolves on Ctrl-C, or on SIGTERM (how containers are stopped).
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

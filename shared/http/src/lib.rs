//! HTTP plumbing shared by Depot's API handlers: the one place errors become responses, Basic
//! auth, request bodies in Pulp's three encodings, list queries and pagination, correlation ids,
//! and the OpenAPI document builder.

pub mod access;
pub mod auth;
pub mod body;
pub mod cid;
pub mod content_guard;
pub mod content_range;
pub mod crud;
pub mod domains;
pub mod error;
pub mod expression;
pub mod files;
pub mod guards;
pub mod html;
pub mod labels;
pub mod list;
pub mod logging;
pub mod object_roles;
pub mod on_demand;
pub mod openapi;
pub mod plugin_api;
pub mod public_paths;
pub mod query;
pub mod repair;
pub mod response;
pub mod server;

pub use access::Caller;
pub use auth::{Authenticated, Detail};
pub use body::{Changes, Fields};
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
    let routes = routes
        .layer(axum::middleware::from_fn_with_state(
            core.clone(),
            forget_served_on_write,
        ))
        .layer(axum::middleware::from_fn_with_state(
            core.clone(),
            guards::check,
        ))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(core.clone());
    // Outside the routes, so that a domain's path is rewritten before it is routed; the
    // correlation id and the access log take in whatever answers, a missing domain too.
    axum::Router::new()
        .fallback_service(tower::service_fn(move |req| {
            let (core, routes) = (core.clone(), routes.clone());
            async move {
                let Some(req) = public_paths::routed(&core, req) else {
                    return Ok::<_, std::convert::Infallible>(public_paths::not_found());
                };
                // Tasks it dispatches are measured as its X-TASK-DIAGNOSTICS asks.
                let diagnostics = req
                    .headers()
                    .get("x-task-diagnostics")
                    .and_then(|v| v.to_str().ok())
                    .map(depot_core::tasks::diagnostics::parse_header)
                    .unwrap_or_default();
                let routed = domains::route(core.clone(), routes, req);
                let resp = depot_core::tasks::diagnostics::requested(diagnostics, routed).await;
                Ok(public_paths::public(&core, resp))
            }
        }))
        .layer(axum::middleware::from_fn(cid::layer))
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

//! Work in progress.
pub fn router() -> axum::Router<depot_http::AppState> { axum::Router::new() }
pub fn openapi(_: &mut depot_http::openapi::ApiDoc) {}

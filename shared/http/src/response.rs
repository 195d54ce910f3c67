//! JSON responses with exactly `Content-Type: application/json` (pulp-glue rejects a charset).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;

pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

pub fn ok<T: Serialize + ?Sized>(value: &T) -> Response {
    json(StatusCode::OK, value)
}

pub fn created<T: Serialize + ?Sized>(value: &T) -> Response {
    json(StatusCode::CREATED, value)
}

/// `202 {"task": href}`.
pub fn accepted(task_href: String) -> Response {
    json(
        StatusCode::ACCEPTED,
        &depot_core::models::AsyncOperationResponse { task: task_href },
    )
}

pub fn no_content() -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

/// Dispatches a task and answers `202 {"task": href}`.
pub async fn dispatched(
    state: &crate::AppState,
    d: depot_core::tasks::Dispatch,
) -> crate::ApiResult<Response> {
    let task = depot_core::tasks::dispatch(state, d).await?;
    Ok(accepted(task.href()))
}

/// `200` with one object, trimmed by the request's `fields` / `exclude_fields`.
pub fn shaped<T: Serialize>(query: &crate::QueryMap, value: &T) -> crate::ApiResult<Response> {
    let params = crate::ListParams::from_query(query)?;
    Ok(ok(
        &params.shape(serde_json::to_value(value).unwrap_or_default())
    ))
}

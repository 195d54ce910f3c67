//! Domain errors to HTTP responses, in one place. Bodies follow DRF's shapes so that Pulp's
//! clients print them: `{"detail": ...}` or `{"field": ["message"]}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_core::CoreError;
use serde_json::json;

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug)]
pub struct ApiError(pub CoreError);

impl<E: Into<CoreError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            CoreError::NotFound(_) => StatusCode::NOT_FOUND,
            CoreError::Invalid(_) => StatusCode::BAD_REQUEST,
            CoreError::Conflict(_) => StatusCode::CONFLICT,
            CoreError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
            CoreError::Remote(_) => StatusCode::BAD_GATEWAY,
            CoreError::Database(_)
            | CoreError::Storage(_)
            | CoreError::Queue(_)
            | CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self.0 {
            CoreError::Invalid(v) => v.clone(),
            e if status.is_server_error() => {
                tracing::error!("internal error: {e}");
                json!({"detail": "Internal server error."})
            }
            e => json!({"detail": e.to_string()}),
        };
        let mut resp = crate::response::json(status, &body);
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"api\""),
            );
        }
        resp
    }
}

//! Domain errors to HTTP responses, in one place. Bodies follow DRF's shapes so that Pulp's
//! clients print them: `{"detail": ...}` or `{"field": ["message"]}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_core::CoreError;
use serde_json::json;

pub type ApiResult<T> = Result<T, ApiError>;

/// What a client is told when the server's storage is full (or read-only).
pub const OUT_OF_SPACE: &str =
    "Insufficient storage: the server cannot store anything more right now. Try again later.";

#[derive(Debug)]
pub struct ApiError(pub CoreError);

impl<E: Into<CoreError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        if self.0.is_out_of_space() {
            return StatusCode::INSUFFICIENT_STORAGE;
        }
        match &self.0 {
            CoreError::NotFound(_) => StatusCode::NOT_FOUND,
            CoreError::Invalid(_) => StatusCode::BAD_REQUEST,
            CoreError::Conflict(_) => StatusCode::CONFLICT,
            CoreError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
            CoreError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
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
            e if status == StatusCode::INSUFFICIENT_STORAGE => {
                tracing::error!("out of space: {e}");
                json!({"detail": OUT_OF_SPACE})
            }
            e if status.is_server_error() => {
                tracing::error!("internal error: {e}");
                json!({"detail": "Internal server error."})
            }
            e => json!({"detail": e.to_string()}),
        };
        let mut resp = crate::response::json(status, &body);
        if status == StatusCode::TOO_MANY_REQUESTS {
            let secs = depot_core::users::FAILURE_WINDOW.as_secs().to_string();
            if let Ok(v) = HeaderValue::from_str(&secs) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"api\""),
            );
        }
        resp
    }
}

//! Registry errors to responses, in the spec's shape: `{"errors": [{code, message, detail}]}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_container::RegistryError;
use depot_core::CoreError;
use serde_json::json;

/// A registry handler's error.
pub struct Error(pub RegistryError);

pub type Result<T> = std::result::Result<T, Error>;

impl<E: Into<RegistryError>> From<E> for Error {
    fn from(e: E) -> Self {
        Error(e.into())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match &e {
            RegistryError::Core(CoreError::Invalid(v)) => v.to_string(),
            RegistryError::Core(inner) if status.is_server_error() => {
                tracing::error!("registry: internal error: {inner}");
                "internal server error".to_string()
            }
            other => other.to_string(),
        };
        let body = json!({"errors": [{"code": e.code(), "message": message, "detail": {}}]});
        let mut r = (status, body.to_string()).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Depot registry\""),
            );
        }
        r
    }
}

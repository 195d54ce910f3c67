//! HTTP Basic authentication for every write and every read except status and docs.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use depot_core::CoreError;
use depot_core::users::{User, authenticate_basic};

use crate::{ApiError, AppState};

/// Extracting this requires valid credentials.
pub struct Authenticated(pub User);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError(CoreError::Unauthenticated(
                    "Authentication credentials were not provided.".into(),
                ))
            })?;
        let user = authenticate_basic(&state.db, &state.auth_cache, header).await?;
        Ok(Authenticated(user))
    }
}

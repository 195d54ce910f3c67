//! HTTP Basic authentication for every write and every read except status and docs.

use axum::extract::{FromRequestParts, Path};
use axum::http::header;
use axum::http::request::Parts;
use depot_core::CoreError;
use depot_core::users::{User, authenticate_basic};

use crate::{ApiError, AppState, QueryMap};

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

/// What a read of one resource takes: an authenticated caller, the `{id}` of the path, and
/// the query (`fields`, `exclude_fields`).
pub struct Detail {
    pub id: String,
    pub query: QueryMap,
}

impl FromRequestParts<AppState> for Detail {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Authenticated::from_request_parts(parts, state).await?;
        // `{id}` only fails to extract when it is not UTF-8: no resource has such an id.
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError(CoreError::not_found("resource")))?;
        let query = QueryMap::from_request_parts(parts, state).await?;
        Ok(Self { id, query })
    }
}

//! `GET`/`HEAD /v2/<name>/blobs/<digest>`: the bytes (with Range), or a redirect to object
//! storage.

use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use depot_container::store::{self, Repo};
use depot_container::{Digest, RegistryError};
use depot_core::users::User;
use depot_http::AppState;

use crate::{Result, header_value};

pub async fn get(
    state: &AppState,
    repo: &Repo,
    digest: &Digest,
    parts: &Parts,
) -> Result<Response> {
    let blob = store::blob(&state.db, repo, digest)
        .await?
        .ok_or_else(|| RegistryError::BlobUnknown(digest.to_string()))?;
    let Some((key, size)) = blob.file else {
        return Err(RegistryError::BlobUnknown(digest.to_string()).into());
    };
    let range = parts
        .headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let mut r = depot_http::files::serve_stored(
        state,
        &parts.method,
        range,
        &key,
        size,
        &digest.to_string(),
        HeaderValue::from_static("application/octet-stream"),
    )
    .await?;
    r.headers_mut()
        .insert("Docker-Content-Digest", header_value(&digest.to_string()));
    Ok(r)
}

/// `DELETE /v2/<name>/blobs/<digest>`: out of the repository (202); the bytes stay for other
/// repositories until orphan cleanup.
pub async fn delete(
    state: &AppState,
    user: &User,
    repo: &Repo,
    digest: &Digest,
) -> Result<Response> {
    let blob = store::blob(&state.db, repo, digest)
        .await?
        .ok_or_else(|| RegistryError::BlobUnknown(digest.to_string()))?;
    crate::remove(state, user, repo, vec![blob.content_id]).await
}

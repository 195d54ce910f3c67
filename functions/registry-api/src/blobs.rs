//! `GET`/`HEAD /v2/<name>/blobs/<digest>`: the bytes (with Range), a redirect to object
//! storage, or for a blob still upstream, the upstream bytes as they are saved.

use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use depot_container::store::{self, Repo};
use depot_container::{Digest, RegistryError};
use depot_core::users::User;
use depot_http::{AppState, on_demand};

use crate::{Result, header_value};

pub async fn get(
    state: &AppState,
    repo: &Repo,
    digest: &Digest,
    parts: &Parts,
) -> Result<Response> {
    let mut blob = store::blob(&state.db, repo, digest).await?;
    if blob.is_none() && crate::pull_through::blob(state, repo, digest).await? {
        blob = store::blob(&state.db, repo, digest).await?;
    }
    let blob = blob.ok_or_else(|| RegistryError::BlobUnknown(digest.to_string()))?;
    let range = parts
        .headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let name = digest.to_string();
    let content_type = HeaderValue::from_static("application/octet-stream");
    let mut r = match blob.file {
        Some((key, size)) => {
            if let Some(signature) = depot_core::scan::finding(state, &key).await? {
                return Err(depot_core::scan::quarantined(&name, &signature).into());
            }
            depot_http::files::serve_stored(
                state,
                &parts.method,
                range,
                &key,
                size,
                &name,
                content_type,
            )
            .await?
        }
        // Synced on demand or cached by a pull-through: fetched (once) and saved on the way.
        None => {
            let wanted = on_demand::Wanted {
                method: &parts.method,
                range,
                content_artifact_id: &blob.content_artifact_id,
                content_id: &blob.content_id,
                name: &name,
                content_type,
                announce_length: true,
            };
            on_demand::serve(state, wanted).await?
        }
    };
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

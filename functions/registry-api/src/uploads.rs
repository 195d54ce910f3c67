//! Blob uploads: `POST /v2/<name>/blobs/uploads/` (a session, a monolithic upload with
//! `?digest=`, or a cross-repository mount), then `PATCH` (one streamed body, or chunks with
//! `Content-Range`), `PUT ?digest=` to close it, `GET` for its status and `DELETE` to cancel.
//! Bytes are verified against the digest before a blob is recorded.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use depot_container::store::{self, BlobUpload, Repo};
use depot_container::{Digest, RegistryError};
use depot_core::CoreError;
use depot_core::artifacts::{self, Expected};
use depot_core::models::{artifact, upload};
use depot_core::users::User;
use depot_http::AppState;
use depot_http::content_range::ChunkRange;
use futures_util::StreamExt;

use crate::{Result, header_value};

fn query_map(query: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

/// Digest checks fail as `{"sha256": [...]}`; anything else about the bytes is a bad upload.
fn ingest_error(e: CoreError, digest: &Digest) -> RegistryError {
    match &e {
        CoreError::Invalid(v) if v.get(digest.algorithm.name()).is_some() => {
            let msg = v.to_string();
            if msg.contains("not allowed") {
                RegistryError::Unsupported(format!(
                    "{} digests are not enabled",
                    digest.algorithm.name()
                ))
            } else {
                RegistryError::DigestInvalid(format!("the content does not match {digest}"))
            }
        }
        CoreError::Invalid(_) => RegistryError::BlobUploadInvalid(e.to_string()),
        _ => RegistryError::Core(e),
    }
}

fn blob_created(repo_name: &str, digest: &Digest) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::CREATED;
    let h = r.headers_mut();
    h.insert(
        header::LOCATION,
        header_value(&format!("{}/blobs/{digest}", crate::v2_path(repo_name))),
    );
    h.insert("Docker-Content-Digest", header_value(&digest.to_string()));
    h.insert(header::CONTENT_LENGTH, 0.into());
    r
}

fn session(repo_name: &str, id: &str, size: i64, status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::LOCATION,
        header_value(&format!("{}/blobs/uploads/{id}", crate::v2_path(repo_name))),
    );
    h.insert("Docker-Upload-UUID", header_value(id));
    h.insert(
        header::RANGE,
        header_value(&format!("0-{}", (size - 1).max(0))),
    );
    h.insert(header::CONTENT_LENGTH, 0.into());
    r
}

async fn ingest_body(state: &AppState, body: Body, digest: &Digest) -> Result<artifact::Artifact> {
    artifacts::ingest(state, body.into_data_stream(), &digest.expected(None))
        .await
        .map_err(|e| ingest_error(e, digest).into())
}

pub async fn start(
    state: &AppState,
    _user: &User,
    name: &str,
    query: &str,
    body: Body,
) -> Result<Response> {
    let q = query_map(query);
    let repo = store::find_or_create(&state.db, name).await?;
    if let (Some(mount), Some(from)) = (q.get("mount"), q.get("from")) {
        let digest: Digest = mount.parse()?;
        if let Some(source) = store::find(&state.db, from).await?
            && let Some(blob) = store::blob(&state.db, &source, &digest).await?
            && blob.file.is_some()
        {
            store::mount_blob(&state.db, &repo.repository_id, &blob.content_id).await?;
            return Ok(blob_created(name, &digest));
        }
        // Not mountable: the client uploads the bytes instead (the spec's fallback).
    } else if let Some(d) = q.get("digest") {
        let digest: Digest = d.parse()?;
        let a = ingest_body(state, body, &digest).await?;
        store::add_blob(&state.db, &repo.repository_id, &digest, &a.id).await?;
        return Ok(blob_created(name, &digest));
    }
    let id = store::create_upload(&state.db, &repo.repository_id).await?;
    Ok(session(name, &id, 0, StatusCode::ACCEPTED))
}

/// `Content-Range: <start>-<end>` (also accepted with a `bytes ` or `bytes=` prefix).
fn content_range(parts: &Parts) -> Result<Option<ChunkRange>> {
    let Some(v) = parts.headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let range = v
        .to_str()
        .ok()
        .and_then(|s| depot_http::content_range::parse(s.trim(), false))
        .ok_or_else(|| RegistryError::RangeInvalid("invalid Content-Range".into()))?;
    Ok(Some(range))
}

/// Stores `body` as the chunk at `offset`; returns its length.
async fn write_chunk(state: &AppState, up: &BlobUpload, offset: i64, body: Body) -> Result<i64> {
    let mut staged = state.storage.stage().await.map_err(CoreError::from)?;
    let mut stream = body.into_data_stream();
    let mut len: i64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            RegistryError::BlobUploadInvalid(format!("reading the chunk failed: {e}"))
        })?;
        len += chunk.len() as i64;
        staged.write(&chunk).await.map_err(CoreError::from)?;
    }
    if len == 0 {
        return Ok(0);
    }
    let key = format!("registry-uploads/{}/{offset}", up.id);
    staged.commit(&key).await.map_err(CoreError::from)?;
    let u = upload::get(&state.db, &up.id).await?;
    upload::put_chunk(state, &u, offset, len, &key).await?;
    Ok(len)
}

pub async fn patch(
    state: &AppState,
    repo: &Repo,
    id: &str,
    parts: &Parts,
    body: Body,
) -> Result<Response> {
    let up = store::upload(&state.db, repo, id).await?;
    if up.artifact_id.is_some() {
        return Err(RegistryError::RangeInvalid(
            "the upload already holds a streamed body; close it with PUT".into(),
        )
        .into());
    }
    let range = content_range(parts)?;
    if let Some(r) = range
        && r.start as i64 != up.size
    {
        return Err(RegistryError::RangeInvalid(format!(
            "the chunk starts at {}, but {} bytes were received so far",
            r.start, up.size
        ))
        .into());
    }
    if range.is_none() && up.size == 0 {
        // One streamed body (podman, skopeo): straight into an artifact.
        let a = artifacts::ingest(state, body.into_data_stream(), &Expected::default())
            .await
            .map_err(|e| RegistryError::BlobUploadInvalid(e.to_string()))?;
        let size = a.digests.size as i64;
        store::set_upload(&state.db, &up.id, size, Some(&a.id)).await?;
        return Ok(session(&repo.name, &up.id, size, StatusCode::ACCEPTED));
    }
    let len = write_chunk(state, &up, up.size, body).await?;
    if let Some(r) = range
        && r.size() as i64 != len
    {
        upload::delete(state, &up.id).await.ok();
        return Err(RegistryError::RangeInvalid(format!(
            "Content-Range announces {} bytes, the body had {len}",
            r.size()
        ))
        .into());
    }
    store::set_upload(&state.db, &up.id, up.size + len, None).await?;
    Ok(session(
        &repo.name,
        &up.id,
        up.size + len,
        StatusCode::ACCEPTED,
    ))
}

pub async fn finish(
    state: &AppState,
    repo: &Repo,
    id: &str,
    query: &str,
    body: Body,
) -> Result<Response> {
    let up = store::upload(&state.db, repo, id).await?;
    let digest: Digest = query_map(query)
        .get("digest")
        .ok_or_else(|| RegistryError::DigestInvalid("PUT needs ?digest=".into()))?
        .parse()?;
    let artifact_id = match &up.artifact_id {
        Some(a) => {
            // The streamed body was the whole blob; bytes after it would be silently lost.
            let extra = axum::body::to_bytes(body, 1)
                .await
                .map_or(true, |b| !b.is_empty());
            if extra {
                return Err(RegistryError::BlobUploadInvalid(
                    "a streamed upload cannot take a final chunk; send the bytes in the PATCH"
                        .into(),
                )
                .into());
            }
            let a = artifact::get(&state.db, a).await?;
            artifacts::check(&digest.expected(None), &a.digests)
                .map_err(|e| ingest_error(e, &digest))?;
            a.id
        }
        None => {
            // Chunks so far, plus a last chunk in this body.
            let total = up.size + write_chunk(state, &up, up.size, body).await?;
            let u = upload::Upload {
                size: total,
                ..upload::get(&state.db, &up.id).await?
            };
            let streams = upload::assembled(state, &u).await?;
            let joined = futures_util::stream::iter(streams).flatten();
            let a = artifacts::ingest(state, joined, &digest.expected(None))
                .await
                .map_err(|e| ingest_error(e, &digest))?;
            a.id
        }
    };
    store::add_blob(&state.db, &repo.repository_id, &digest, &artifact_id).await?;
    upload::delete(state, &up.id).await?;
    Ok(blob_created(&repo.name, &digest))
}

pub async fn status(state: &AppState, repo: &Repo, id: &str) -> Result<Response> {
    let up = store::upload(&state.db, repo, id).await?;
    Ok(session(&repo.name, &up.id, up.size, StatusCode::NO_CONTENT))
}

pub async fn cancel(state: &AppState, repo: &Repo, id: &str) -> Result<Response> {
    let up = store::upload(&state.db, repo, id).await?;
    upload::delete(state, &up.id).await?;
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    Ok(r)
}

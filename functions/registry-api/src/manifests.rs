//! `GET`/`HEAD`/`PUT /v2/<name>/manifests/<reference>`. Manifests are served byte for byte
//! with their stored media type; a pushed manifest is checked (digest, JSON shape, every
//! referenced blob and manifest present) before it is stored. Pushing a tag makes a new
//! repository version through an immediate task, as in pulp_container.

use std::time::Duration;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use depot_container::digest::Algorithm;
use depot_container::plugin::Add;
use depot_container::store::{self, Repo};
use depot_container::{Digest, RegistryError, manifest, names};
use depot_core::tasks::{self, Dispatch};
use depot_core::users::User;
use depot_http::AppState;
use futures_util::StreamExt;
use serde_json::json;

use crate::{Result, header_value};

/// How long a tag push waits for its version (Pulp waits too, then answers anyway).
const TAG_WAIT: Duration = Duration::from_secs(60);

/// Whether the client's Accept header allows `media_type` (no header allows everything).
fn acceptable(parts: &Parts, media_type: &str) -> bool {
    let values: Vec<&str> = parts
        .headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .filter(|v| !v.is_empty())
        .collect();
    values.is_empty()
        || values
            .iter()
            .any(|v| *v == media_type || *v == "*/*" || *v == "application/*")
}

pub async fn get(
    state: &AppState,
    repo: &Repo,
    reference: &str,
    parts: &Parts,
) -> Result<Response> {
    let found = local(state, repo, reference).await?;
    let m = found.ok_or_else(|| RegistryError::ManifestUnknown(reference.to_string()))?;
    respond(parts, reference, &m.media_type, &m.digest, m.data)
}

/// The manifest `reference` (a tag or a digest) names in the repository.
pub async fn local(
    state: &AppState,
    repo: &Repo,
    reference: &str,
) -> Result<Option<store::Manifest>> {
    Ok(if Digest::is_digest_like(reference) {
        let digest: Digest = reference.parse()?;
        store::manifest_by_digest(&state.db, repo, &digest).await?
    } else {
        names::validate_tag(reference)?;
        store::manifest_by_tag(&state.db, repo, reference).await?
    })
}

/// A manifest's bytes as they are, with its media type and digest (none for HEAD); 404 when
/// the client's Accept header rules its media type out.
pub fn respond(
    parts: &Parts,
    reference: &str,
    media_type: &str,
    digest: &str,
    data: String,
) -> Result<Response> {
    if !acceptable(parts, media_type) {
        return Err(RegistryError::ManifestUnknown(format!(
            "{reference} is a {media_type}, which the request does not accept"
        ))
        .into());
    }
    let len = data.len();
    let body = if parts.method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(data)
    };
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, header_value(media_type));
    h.insert(header::CONTENT_LENGTH, len.into());
    h.insert("Docker-Content-Digest", header_value(digest));
    h.insert(header::ETAG, header_value(&format!("\"{digest}\"")));
    Ok(r)
}

async fn read_body(body: Body) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            RegistryError::ManifestInvalid(format!("reading the manifest failed: {e}"))
        })?;
        if out.len() + chunk.len() > manifest::MAX_SIZE {
            return Err(
                RegistryError::ManifestInvalid("the manifest is larger than 4 MiB".into()).into(),
            );
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

pub async fn put(
    state: &AppState,
    user: &User,
    name: &str,
    reference: &str,
    parts: &Parts,
    body: Body,
) -> Result<Response> {
    let by_digest = if Digest::is_digest_like(reference) {
        Some(reference.parse::<Digest>()?)
    } else {
        names::validate_tag(reference)?;
        None
    };
    let bytes = read_body(body).await?;
    let algorithm = by_digest
        .as_ref()
        .map_or(Algorithm::Sha256, |d| d.algorithm);
    let digest = Digest::of(algorithm, &bytes);
    if let Some(d) = &by_digest
        && *d != digest
    {
        return Err(RegistryError::DigestInvalid(format!(
            "the manifest's digest is {digest}, not {d}"
        ))
        .into());
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let parsed = manifest::parse(&bytes, content_type)?;
    let data = String::from_utf8(bytes)
        .map_err(|_| RegistryError::ManifestInvalid("the manifest is not UTF-8".into()))?;
    let repo = store::find_or_create(&state.db, name).await?;
    let manifest_id = store::add_manifest(&state.db, &repo, &digest, &parsed, &data).await?;

    if by_digest.is_none() {
        let args = Add {
            repository_id: repo.repository_id.clone(),
            tag: Some(reference.to_string()),
            manifest_id: Some(manifest_id),
            content_ids: Vec::new(),
        };
        let d = Dispatch::new("pulp_container.app.tasks.tag_image", &args)
            .exclusive([repo.prn()])
            .immediate()
            .requested_by(&user.id, "");
        let t = tasks::dispatch(state, d).await?;
        wait(state, &t.id).await?;
    }

    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::CREATED;
    let h = r.headers_mut();
    h.insert(
        header::LOCATION,
        header_value(&format!("{}/manifests/{digest}", crate::v2_path(name))),
    );
    h.insert("Docker-Content-Digest", header_value(&digest.to_string()));
    h.insert(header::CONTENT_LENGTH, 0.into());
    if let Some(subject) = &parsed.subject {
        h.insert("OCI-Subject", header_value(&subject.to_string()));
    }
    Ok(r)
}

/// Waits for the tagging task; a failure is the push's failure.
async fn wait(state: &AppState, task_id: &str) -> Result<()> {
    let t = tasks::wait(state, task_id, TAG_WAIT).await?;
    if matches!(t.state.as_str(), "failed" | "canceled") {
        let why = t
            .error
            .get("description")
            .and_then(|d| d.as_str())
            .unwrap_or("the tagging task failed")
            .to_string();
        return Err(RegistryError::ManifestInvalid(why).into());
    }
    Ok(())
}

/// `DELETE /v2/<name>/manifests/<digest>`: the manifest and the tags pointing at it leave the
/// repository (202). Deleting by tag is not supported, as in pulp_container.
pub async fn delete(
    state: &AppState,
    user: &User,
    repo: &Repo,
    reference: &str,
) -> Result<Response> {
    if !Digest::is_digest_like(reference) {
        return Err(RegistryError::Unsupported(
            "manifests are deleted by digest; untag through the Pulp API".into(),
        )
        .into());
    }
    let digest: Digest = reference.parse()?;
    let m = store::manifest_by_digest(&state.db, repo, &digest)
        .await?
        .ok_or_else(|| RegistryError::ManifestUnknown(reference.to_string()))?;
    crate::remove(state, user, repo, vec![m.content_id]).await
}

/// `GET /v2/<name>/referrers/<digest>`: an OCI index of the manifests whose subject is
/// `digest`, optionally filtered by `artifactType`.
pub async fn referrers(
    state: &AppState,
    repo: &Repo,
    digest: &Digest,
    query: &str,
) -> Result<Response> {
    let wanted: Option<String> = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "artifactType")
        .map(|(_, v)| v);
    let mut found = store::referrers(&state.db, repo, digest).await?;
    if let Some(t) = &wanted {
        found.retain(|d| d.get("artifactType").and_then(|v| v.as_str()) == Some(t.as_str()));
    }
    let body = json!({"schemaVersion": 2, "mediaType": manifest::OCI_INDEX, "manifests": found});
    let mut r = Response::new(Body::from(body.to_string()));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(manifest::OCI_INDEX),
    );
    if wanted.is_some() {
        h.insert(
            "OCI-Filters-Applied",
            header::HeaderValue::from_static("artifactType"),
        );
    }
    Ok(r)
}

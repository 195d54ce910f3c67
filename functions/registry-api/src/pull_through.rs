//! Pulls through a pull-through cache (a distribution whose `remote` reaches an upstream
//! repository), as pulp_container does since manifests stopped going through the content app:
//!
//! - tag: always asked of upstream. A manifest that is not stored yet is answered with the
//!   upstream bytes at once, and a background task stores the image; an unchanged tag is served
//!   from storage. When upstream fails, a tag stored earlier is served (stale on error).
//! - digest: served from storage; only a missing one is asked of upstream (and then stored).
//! - blob: served from storage; a missing one is recorded with its upstream URL and streamed to
//!   the client while it is saved (once, however many clients ask at the same time).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use axum::http::request::Parts;
use axum::response::Response;
use depot_container::plugin::Cache;
use depot_container::pull_through;
use depot_container::store::{self, Repo};
use depot_container::upstream::Upstream;
use depot_container::{Digest, RegistryError};
use depot_core::CoreError;
use depot_core::models::remote::{self, Remote};
use depot_core::tasks::Dispatch;
use depot_core::users::User;
use depot_http::AppState;

use crate::{Result, manifests};

/// The cache repository for `name` when a pull-through distribution covers it. Only
/// authenticated callers fill a cache, as in Pulp; names its remote filters out are unknown.
pub async fn open(state: &AppState, name: &str, user: Option<&User>) -> Result<Option<Repo>> {
    let Some((cache, upstream_name)) = pull_through::find(&state.db, name).await? else {
        return Ok(None);
    };
    if user.is_none() || !cache.allows(&upstream_name) {
        return Err(RegistryError::NameUnknown(name.to_string()).into());
    }
    Ok(Some(
        pull_through::open(&state.db, &cache, name, &upstream_name).await?,
    ))
}

async fn cache_remote(state: &AppState, repo: &Repo) -> Result<Option<Remote>> {
    match &repo.remote_id {
        Some(id) => Ok(Some(remote::get(&state.db, id).await?)),
        None => Ok(None),
    }
}

/// Upstream's "not there" is the registry's "unknown"; other trouble stays a 502.
fn not_found_as(e: CoreError, unknown: RegistryError) -> RegistryError {
    match e {
        CoreError::NotFound(_) => unknown,
        other => RegistryError::Core(other),
    }
}

/// `GET`/`HEAD` of a manifest in a cache repository.
pub async fn manifest(
    state: &AppState,
    repo: &Repo,
    reference: &str,
    parts: &Parts,
) -> Result<Response> {
    let Some(remote) = cache_remote(state, repo).await? else {
        return manifests::get(state, repo, reference, parts).await;
    };
    let stored = manifests::local(state, repo, reference).await?;
    let by_digest = Digest::is_digest_like(reference);
    if let (Some(m), true) = (&stored, by_digest) {
        return manifests::respond(parts, reference, &m.media_type, &m.digest, m.data.clone());
    }
    let upstream = Upstream::for_remote(state, &remote)?;
    let fetched = match upstream.manifest(reference).await {
        Ok(f) => f,
        Err(e) => {
            if let Some(m) = stored {
                tracing::warn!(
                    "upstream failed for {}:{reference}, serving the stored tag: {e}",
                    repo.name
                );
                return manifests::respond(parts, reference, &m.media_type, &m.digest, m.data);
            }
            let unknown = RegistryError::ManifestUnknown(reference.to_string());
            return Err(not_found_as(e, unknown).into());
        }
    };
    let digest = fetched.digest.to_string();
    if let Some(m) = stored.filter(|m| m.digest == digest) {
        return manifests::respond(parts, reference, &m.media_type, &m.digest, m.data);
    }
    // New or moved: answer now, store in the background (once, however many pulls ask).
    if first_ask(&repo.repository_id, reference, &digest) {
        let args = Cache {
            repository_id: repo.repository_id.clone(),
            remote_id: remote.id.clone(),
            reference: reference.to_string(),
        };
        let name = "pulp_container.app.tasks.download_image_data.download_image_data";
        let d = Dispatch::new(name, &args).exclusive([repo.prn()]);
        depot_core::tasks::dispatch(state, d).await?;
    }
    let media_type = fetched.parsed.media_type.clone();
    manifests::respond(parts, reference, &media_type, &digest, fetched.data)
}

/// How long a dispatched store of one image answers for later pulls of it (clients ask for a
/// manifest with HEAD, then GET, and many clients pull one image at once).
const STORING: Duration = Duration::from_secs(30);

/// Whether this process has not dispatched the store of `digest` as `reference` lately.
fn first_ask(repository_id: &str, reference: &str, digest: &str) -> bool {
    static RECENT: LazyLock<Mutex<HashMap<String, Instant>>> = LazyLock::new(Default::default);
    let key = format!("{repository_id} {reference} {digest}");
    let now = Instant::now();
    let mut recent = RECENT.lock().expect("recent stores");
    recent.retain(|_, at| now.duration_since(*at) < STORING);
    recent.insert(key, now).is_none()
}

/// Records a blob of a cache repository that is not stored yet, so that it is served (and
/// saved) from upstream. `false` when this is no cache repository.
pub async fn blob(state: &AppState, repo: &Repo, digest: &Digest) -> Result<bool> {
    let Some(remote) = cache_remote(state, repo).await? else {
        return Ok(false);
    };
    let upstream = Upstream::for_remote(state, &remote)?;
    let size = upstream
        .blob_size(digest)
        .await
        .map_err(|e| not_found_as(e, RegistryError::BlobUnknown(digest.to_string())))?;
    let url = upstream.blob_url(digest);
    store::add_remote_blob(
        &state.db,
        &repo.repository_id,
        digest,
        size,
        &remote.id,
        &url,
    )
    .await?;
    Ok(true)
}

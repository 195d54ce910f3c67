//! Sending one file: from storage with HTTP Range, or from a remote (on demand).

use axum::http::HeaderValue;
use axum::response::Response;
use depot_core::CoreResult;
use depot_http::files::Revalidation;
use depot_http::{AppState, on_demand};

use depot_core::models::content_guard::Loaded;
use depot_core::models::serving::File;
use depot_core::serving_cache::CachedFile;
use std::sync::Arc;

use crate::ReqInfo;

fn content_type(name: &str) -> HeaderValue {
    HeaderValue::from_static(crate::mime::of(name))
}

/// Keeps a clean stored file's lookup for the next request of `raw_path` (files still on their
/// remote change on first download, and infected ones are refused, so neither is kept), with
/// the guard to ask again next time.
pub(crate) fn remember(
    state: &AppState,
    raw_path: &str,
    generation: u64,
    (file, name): (&File, &str),
    guard: Option<&Arc<Loaded>>,
) {
    if let File::Stored {
        key,
        size,
        infected: None,
        sha256,
        since,
    } = file
    {
        let file = CachedFile {
            key: key.clone(),
            size: *size,
            name: name.to_string(),
            sha256: sha256.clone(),
            since: since.clone(),
            guard: guard.cloned(),
        };
        state.serving_cache.put(raw_path, generation, file);
    }
}

/// Serves a file the cache remembered.
pub(crate) async fn cached(
    state: &AppState,
    req: &ReqInfo,
    file: CachedFile,
) -> CoreResult<Response> {
    let stored = (
        file.key.as_str(),
        file.size,
        file.sha256.as_deref(),
        file.since.as_deref(),
    );
    stored_file(state, req, stored, &file.name).await
}

/// A stored file, with Pulp's edge caching: the validators, and a 304 for a current copy.
async fn stored_file(
    state: &AppState,
    req: &ReqInfo,
    (key, size, sha256, since): (&str, i64, Option<&str>, Option<&str>),
    name: &str,
) -> CoreResult<Response> {
    let check = Revalidation::of(&req.method, &req.parts.headers, sha256, since);
    if check.not_modified {
        return Ok(check.not_modified_response());
    }
    let mut resp = depot_http::files::serve_stored(
        state,
        &req.method,
        req.range.as_deref(),
        key,
        size,
        name,
        content_type(name),
    )
    .await?;
    check.apply(&mut resp);
    Ok(resp)
}

pub(crate) async fn entry(
    state: &AppState,
    req: &ReqInfo,
    file: File,
    name: &str,
) -> CoreResult<Response> {
    match file {
        File::Stored {
            infected: Some(signature),
            ..
        } => Err(depot_core::scan::quarantined(name, &signature)),
        File::Stored {
            key,
            size,
            sha256,
            since,
            ..
        } => {
            let stored = (key.as_str(), size, sha256.as_deref(), since.as_deref());
            stored_file(state, req, stored, name).await
        }
        File::Remote {
            content_artifact_id,
            content_id,
        } => {
            let wanted = on_demand::Wanted {
                method: &req.method,
                range: req.range.as_deref(),
                content_artifact_id: &content_artifact_id,
                content_id: &content_id,
                name,
                content_type: content_type(name),
                announce_length: false,
            };
            on_demand::serve(state, wanted).await
        }
    }
}

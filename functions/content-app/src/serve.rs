//! Sending one file: from storage with HTTP Range, or from a remote (on demand).

use axum::http::HeaderValue;
use axum::response::Response;
use depot_core::CoreResult;
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
    } = file
    {
        let file = CachedFile {
            key: key.clone(),
            size: *size,
            name: name.to_string(),
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
    depot_http::files::serve_stored(
        state,
        &req.method,
        req.range.as_deref(),
        &file.key,
        file.size,
        &file.name,
        content_type(&file.name),
    )
    .await
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
        File::Stored { key, size, .. } => {
            depot_http::files::serve_stored(
                state,
                &req.method,
                req.range.as_deref(),
                &key,
                size,
                name,
                content_type(name),
            )
            .await
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
            };
            on_demand::serve(state, wanted).await
        }
    }
}

//! Sending one file: from storage with HTTP Range, or from a remote (on demand).

use axum::http::HeaderValue;
use axum::response::Response;
use depot_core::CoreResult;
use depot_http::{AppState, on_demand};

use depot_core::models::serving::File;

use crate::ReqInfo;

fn content_type(name: &str) -> HeaderValue {
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    HeaderValue::from_str(mime.as_ref())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"))
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

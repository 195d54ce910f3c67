//! Sending one file: from storage with HTTP Range, or streamed from a remote (on demand).

use axum::body::Body;
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use bytes::Bytes;
use depot_core::artifacts::{Expected, ingest_staged};
use depot_core::checksums::{Algorithm, Hasher};
use depot_core::models::content;
use depot_core::models::remote::{self, Policy};
use depot_core::{CoreError, CoreResult, download};
use depot_http::AppState;
use futures_util::StreamExt;

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
        File::Stored { key, size } => {
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
        } => on_demand(state, req, &content_artifact_id, &content_id, name).await,
    }
}

/// Streams a file from the first remote that answers, checking size and sha256 as it goes. For
/// `on_demand` remotes the bytes are saved as an artifact once verified; `streamed` never saves.
/// A digest mismatch aborts the response, so the client never gets a silently wrong file.
async fn on_demand(
    state: &AppState,
    req: &ReqInfo,
    ca_id: &str,
    content_id: &str,
    name: &str,
) -> CoreResult<Response> {
    let sources = content::remote_sources(&state.db, ca_id).await?;
    let mut last_error = CoreError::NotFound("Not found.".into());
    for (url, size, sha, remote_id) in sources {
        let Ok(remote) = remote::get(&state.db, &remote_id).await else {
            continue;
        };
        let resp = match download::get(state, &remote, &url).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("on-demand fetch of {url} failed: {e}");
                last_error = e;
                continue;
            }
        };
        let mut r = if req.method == Method::HEAD {
            Response::new(Body::empty())
        } else {
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
            let task_state = state.clone();
            let content_id = content_id.to_string();
            let save = remote.policy != Policy::Streamed;
            tokio::spawn(async move {
                if let Err(e) =
                    relay(&task_state, resp, tx.clone(), size, sha, save, &content_id).await
                {
                    tracing::warn!("on-demand download failed: {e}");
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                }
            });
            Response::new(Body::from_stream(tokio_stream(rx)))
        };
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, content_type(name));
        if let Some(size) = size {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            h.insert("x-pulp-artifact-size", HeaderValue::from(size));
        }
        return Ok(r);
    }
    Err(last_error)
}

fn tokio_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Copies the remote body to the client and to staged storage; commits it when it verifies.
async fn relay(
    state: &AppState,
    resp: reqwest::Response,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    size: Option<i64>,
    sha: Option<String>,
    save: bool,
    content_id: &str,
) -> CoreResult<()> {
    let mut staged = if save {
        Some(state.storage.stage().await?)
    } else {
        None
    };
    let mut hasher = Hasher::new(&state.settings.allowed_checksums);
    let mut body = download::body_stream(resp);
    let mut client_gone = false;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(CoreError::Remote)?;
        hasher.update(&chunk);
        if let Some(s) = staged.as_mut() {
            s.write(&chunk).await?;
        }
        // Keep downloading after the client left, so that the file is saved for the next one.
        if !client_gone && tx.send(Ok(chunk)).await.is_err() {
            client_gone = true;
            if staged.is_none() {
                return Ok(());
            }
        }
    }
    let digests = hasher.finish();
    let expected = Expected {
        size: size.map(|s| s as u64),
        digests: sha
            .map(|s| vec![(Algorithm::Sha256, s)])
            .unwrap_or_default(),
    };
    depot_core::artifacts::check(&expected, &digests).map_err(|_| {
        CoreError::Remote("The downloaded file does not match its expected digest.".into())
    })?;
    if let Some(staged) = staged {
        let a = ingest_staged(state, staged, digests, &expected).await?;
        content::attach_artifact(&state.db, content_id, &a.id).await?;
    }
    Ok(())
}

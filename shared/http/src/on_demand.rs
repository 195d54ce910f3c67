//! Serving content whose bytes are still upstream (`on_demand` and `streamed` remotes, the
//! registry's pull-through cache): the first remote that answers is streamed to the client
//! while size and sha256 are checked, and for `on_demand` the bytes are saved as an artifact
//! once verified, so the next request is served from storage. A digest mismatch aborts the
//! response, so a client never gets a silently wrong file.
//!
//! Concurrent requests for the same missing content download it once per process: the first
//! request claims the download, the others wait for it and are then served from storage.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use axum::body::Body;
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use bytes::Bytes;
use depot_core::artifacts::{Expected, ingest_staged};
use depot_core::checksums::{Algorithm, Hasher};
use depot_core::models::content;
use depot_core::models::remote::{self, Policy};
use depot_core::{CoreError, CoreResult, download};
use futures_util::StreamExt;
use sqlx::Row;
use tokio::sync::watch;

use crate::AppState;

/// Downloads in progress, by content id; waiters hold a receiver whose sender the downloader
/// drops when it is done.
static IN_FLIGHT: LazyLock<Mutex<HashMap<String, watch::Receiver<()>>>> =
    LazyLock::new(Default::default);

/// The right to download one content unit's bytes; dropping it wakes the waiters.
pub struct Claim {
    content_id: String,
    _done: watch::Sender<()>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        IN_FLIGHT
            .lock()
            .expect("in-flight downloads")
            .remove(&self.content_id);
    }
}

/// Claims the download of `content_id`, or waits for the request that holds it and answers
/// `None` (look in storage again).
async fn claim(content_id: &str) -> Option<Claim> {
    let mut rx = {
        let mut map = IN_FLIGHT.lock().expect("in-flight downloads");
        match map.get(content_id) {
            Some(rx) => rx.clone(),
            None => {
                let (tx, rx) = watch::channel(());
                map.insert(content_id.to_string(), rx);
                return Some(Claim {
                    content_id: content_id.to_string(),
                    _done: tx,
                });
            }
        }
    };
    // Returns once the sender is dropped.
    while rx.changed().await.is_ok() {}
    None
}

/// Storage key and size of the content's bytes, once they are stored.
async fn stored(state: &AppState, content_id: &str) -> CoreResult<Option<(String, i64)>> {
    let row = sqlx::query(
        "SELECT a.file, a.size FROM content_artifacts ca JOIN artifacts a ON a.id = ca.artifact_id \
         WHERE ca.content_id = $1",
    )
    .bind(content_id)
    .fetch_optional(state.db.pool())
    .await?;
    Ok(match row {
        Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
        None => None,
    })
}

/// What to answer for content `content_id` (file `ca_id`) that has no stored bytes yet.
pub struct Wanted<'a> {
    pub method: &'a Method,
    pub range: Option<&'a str>,
    pub content_artifact_id: &'a str,
    pub content_id: &'a str,
    /// The name the bytes are served as (for redirects to object storage).
    pub name: &'a str,
    pub content_type: HeaderValue,
}

/// Answers a request for content whose bytes are upstream.
pub async fn serve(state: &AppState, w: Wanted<'_>) -> CoreResult<Response> {
    let claim = if *w.method == Method::HEAD {
        None
    } else {
        loop {
            if let Some((key, size)) = stored(state, w.content_id).await? {
                let ct = w.content_type.clone();
                return crate::files::serve_stored(
                    state, w.method, w.range, &key, size, w.name, ct,
                )
                .await;
            }
            if let Some(c) = claim(w.content_id).await {
                break Some(c);
            }
        }
    };
    let sources = content::remote_sources(&state.db, w.content_artifact_id).await?;
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
        let mut r = match claim {
            None => Response::new(Body::empty()),
            Some(claim) => {
                let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
                let task_state = state.clone();
                let content_id = w.content_id.to_string();
                let save = remote.policy != Policy::Streamed;
                tokio::spawn(async move {
                    let _claim = claim;
                    if let Err(e) =
                        relay(&task_state, resp, tx.clone(), size, sha, save, &content_id).await
                    {
                        tracing::warn!("on-demand download failed: {e}");
                        let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    }
                });
                Response::new(Body::from_stream(receiver_stream(rx)))
            }
        };
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, w.content_type);
        if let Some(size) = size {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            h.insert("x-pulp-artifact-size", HeaderValue::from(size));
        }
        return Ok(r);
    }
    Err(last_error)
}

fn receiver_stream(
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

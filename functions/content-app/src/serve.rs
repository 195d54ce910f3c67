//! Sending one file: from storage with HTTP Range, or streamed from a remote (on demand).

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
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

/// Parses a single `bytes=` range against `size`: `Ok(None)` for no range, `Err` when it cannot
/// be satisfied.
fn parse_range(header: Option<&str>, size: i64) -> Result<Option<(i64, i64)>, ()> {
    let Some(h) = header else { return Ok(None) };
    let Some(spec) = h.strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None); // Multiple ranges: answer with the whole file, which the spec allows.
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: i64 = n.parse().map_err(|_| ())?;
            if n == 0 {
                return Err(());
            }
            ((size - n).max(0), size - 1)
        }
        (s, "") => (s.parse().map_err(|_| ())?, size - 1),
        (s, e) => (
            s.parse().map_err(|_| ())?,
            e.parse::<i64>().map_err(|_| ())?.min(size - 1),
        ),
    };
    if start >= size || start > end || start < 0 {
        return Err(());
    }
    Ok(Some((start, end)))
}

pub(crate) async fn entry(
    state: &AppState,
    req: &ReqInfo,
    file: File,
    name: &str,
) -> CoreResult<Response> {
    match file {
        File::Stored { key, size } => artifact(state, req, &key, size, name).await,
        File::Remote {
            content_artifact_id,
            content_id,
        } => on_demand(state, req, &content_artifact_id, &content_id, name).await,
    }
}

async fn artifact(
    state: &AppState,
    req: &ReqInfo,
    key: &str,
    size: i64,
    name: &str,
) -> CoreResult<Response> {
    // Object storage serves the bytes itself: send the client there (Pulp's
    // REDIRECT_TO_OBJECT_STORAGE). The client repeats its Range header to the new location.
    if state.settings.redirect_to_object_storage {
        let filename = name.rsplit('/').next().unwrap_or(name);
        let mime = content_type(name);
        if let Some(url) = state
            .storage
            .presigned_url(
                key,
                req.method == Method::HEAD,
                filename,
                mime.to_str().unwrap_or("application/octet-stream"),
            )
            .await?
        {
            let mut r = StatusCode::FOUND.into_response();
            let location = HeaderValue::from_str(&url)
                .map_err(|e| CoreError::Internal(format!("bad presigned URL: {e}")))?;
            r.headers_mut().insert(header::LOCATION, location);
            return Ok(r);
        }
    }
    let range = req.range.as_deref();
    let (status, start, len) = match parse_range(range, size) {
        Ok(None) => (StatusCode::OK, 0, size),
        Ok(Some((s, e))) => (StatusCode::PARTIAL_CONTENT, s, e - s + 1),
        Err(()) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    let body = if req.method == Method::HEAD {
        Body::empty()
    } else {
        Body::from_stream(
            state
                .storage
                .open(key, start as u64, Some(len as u64))
                .await?,
        )
    };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type(name));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert("x-pulp-artifact-size", HeaderValue::from(size));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + len - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(r)
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

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), Ok(None));
        assert_eq!(parse_range(Some("bytes=0-3"), 10), Ok(Some((0, 3))));
        assert_eq!(parse_range(Some("bytes=5-"), 10), Ok(Some((5, 9))));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Ok(Some((7, 9))));
        assert_eq!(parse_range(Some("bytes=8-100"), 10), Ok(Some((8, 9))));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Err(()));
        assert_eq!(parse_range(Some("bytes=x-"), 10), Err(()));
    }
}

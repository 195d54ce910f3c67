//! Serving stored files over HTTP (the content app and the registry's blobs): Range and HEAD,
//! or a redirect to a presigned object-storage URL (Pulp's REDIRECT_TO_OBJECT_STORAGE).

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_core::{CoreError, CoreResult};

use crate::AppState;

/// Up to this size a file is read into memory in one go rather than streamed.
const READ_WHOLE_UP_TO: i64 = 256 * 1024;

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

/// Serves stored bytes: a redirect to object storage when the storage can presign and the
/// settings allow it, else the bytes (or the `Range` asked for) from storage. `name` is the
/// file name offered to the client.
pub async fn serve_stored(
    state: &AppState,
    method: &Method,
    range: Option<&str>,
    key: &str,
    size: i64,
    name: &str,
    content_type: HeaderValue,
) -> CoreResult<Response> {
    // Object storage serves the bytes itself: send the client there (Pulp's
    // REDIRECT_TO_OBJECT_STORAGE). The client repeats its Range header to the new location.
    if state.settings.redirect_to_object_storage {
        let filename = name.rsplit('/').next().unwrap_or(name);
        if let Some(url) = state
            .storage
            .presigned_url(
                key,
                method == Method::HEAD,
                filename,
                content_type.to_str().unwrap_or("application/octet-stream"),
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
    let body = if method == Method::HEAD {
        Body::empty()
    } else if len <= READ_WHOLE_UP_TO {
        Body::from(state.storage.read(key, start as u64, len as u64).await?)
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
    h.insert(header::CONTENT_TYPE, content_type);
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

//! Serving stored files over HTTP (the content app and the registry's blobs): Range and HEAD,
//! or a redirect to a presigned object-storage URL (Pulp's REDIRECT_TO_OBJECT_STORAGE).

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_core::{CoreError, CoreResult};

use crate::AppState;

/// How shared caches may keep a served file: always revalidated (Pulp's edge cache control).
pub const EDGE_CACHE_CONTROL: &str = "public, max-age=0, must-revalidate";

/// What a client revalidates a served file by (its ETag and Last-Modified), and whether the
/// copy the request says it has is current.
pub struct Revalidation {
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
    pub not_modified: bool,
}

impl Revalidation {
    /// For a file with bytes `sha256`, served at its path since `since` (a stored timestamp):
    /// a GET or HEAD is answered 304 when its `If-None-Match` names the ETag or, without one,
    /// its `If-Modified-Since` is no earlier than Last-Modified (RFC 9110's order).
    pub fn of(
        method: &Method,
        request: &axum::http::HeaderMap,
        sha256: Option<&str>,
        since: Option<&str>,
    ) -> Self {
        let etag = sha256.map(|s| format!("\"{s}\""));
        let modified = since
            .and_then(depot_core::time::parse)
            .filter(|t| *t <= std::time::SystemTime::now());
        let text = |name| {
            request
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let safe = matches!(*method, Method::GET | Method::HEAD);
        let not_modified = safe
            && match (text(header::IF_NONE_MATCH), text(header::IF_MODIFIED_SINCE)) {
                (Some(tags), _) => etag.as_deref().is_some_and(|ours| {
                    tags.split(',')
                        .map(|t| t.trim().trim_start_matches("W/"))
                        .any(|t| t == "*" || t == ours)
                }),
                (None, Some(date)) => match (modified, httpdate::parse_http_date(date)) {
                    // Last-Modified has whole seconds: compare at that precision.
                    (Some(m), Ok(copy)) => {
                        httpdate::HttpDate::from(m) <= httpdate::HttpDate::from(copy)
                    }
                    _ => false,
                },
                (None, None) => false,
            };
        Self {
            etag: etag.and_then(|e| HeaderValue::from_str(&e).ok()),
            last_modified: modified
                .and_then(|m| HeaderValue::from_str(&httpdate::fmt_http_date(m)).ok()),
            not_modified,
        }
    }

    /// Adds the validators and the cache control to an answer; a redirect to object storage is
    /// not to be kept (Pulp's `no-store`).
    pub fn apply(&self, resp: &mut Response) {
        if resp.status() == StatusCode::FOUND {
            let no_store = HeaderValue::from_static("no-store");
            resp.headers_mut().insert(header::CACHE_CONTROL, no_store);
            return;
        }
        let h = resp.headers_mut();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(EDGE_CACHE_CONTROL),
        );
        if let Some(e) = &self.etag {
            h.insert(header::ETAG, e.clone());
        }
        if let Some(m) = &self.last_modified {
            h.insert(header::LAST_MODIFIED, m.clone());
        }
    }

    /// The 304 for a client whose copy is current.
    pub fn not_modified_response(&self) -> Response {
        let mut resp = StatusCode::NOT_MODIFIED.into_response();
        self.apply(&mut resp);
        resp
    }
}

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

//! Answering requests for content whose bytes are still upstream: the domain layer
//! ([`depot_core::on_demand`]) finds them, stored or from the first remote that answers, and
//! this turns what it found into a response.

use axum::body::Body;
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use depot_core::CoreResult;
use depot_core::on_demand::{self, Found};

use crate::AppState;

/// What to answer for content `content_id` (file `content_artifact_id`) that has no stored
/// bytes yet.
pub struct Wanted<'a> {
    pub method: &'a Method,
    pub range: Option<&'a str>,
    pub content_artifact_id: &'a str,
    pub content_id: &'a str,
    /// The name the bytes are served as (for redirects to object storage).
    pub name: &'a str,
    pub content_type: HeaderValue,
    /// Whether a stream from upstream announces its size as `Content-Length` (registry clients
    /// want it). Pulp's content app streams without one, so that a stream cut short because
    /// its bytes failed their digest reads as cut short whatever the client counted.
    pub announce_length: bool,
}

/// Answers a request for content whose bytes are upstream.
pub async fn serve(state: &AppState, w: Wanted<'_>) -> CoreResult<Response> {
    let head = *w.method == Method::HEAD;
    match on_demand::fetch(state, w.content_id, w.content_artifact_id, head).await? {
        Found::Stored { key, size } => {
            let ct = w.content_type;
            crate::files::serve_stored(state, w.method, w.range, &key, size, w.name, ct).await
        }
        Found::Upstream { body, size } => {
            let mut r = Response::new(Body::from_stream(body));
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, w.content_type);
            if let Some(size) = size {
                if w.announce_length {
                    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
                }
                h.insert("x-pulp-artifact-size", HeaderValue::from(size));
            }
            Ok(r)
        }
    }
}

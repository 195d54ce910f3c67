//! Correlation ids (Pulp's `Correlation-ID` header): a valid incoming id is echoed, otherwise a
//! new one is made. Tasks record it as `logging_cid`.

use axum::extract::{FromRequestParts, Request};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

const HEADER: &str = "correlation-id";

fn valid(v: &str) -> bool {
    let hex: String = v.chars().filter(|c| *c != '-').collect();
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// Middleware: attaches the id to the request, echoes it on the response, and writes the access
/// log line (target `depot::access`).
pub async fn layer(mut req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    req.extensions_mut().insert(CorrelationId(id.clone()));
    let signed_in = crate::auth::SignedIn::default();
    req.extensions_mut().insert(signed_in.clone());
    // Every line logged while the request is served carries its correlation id.
    let mut resp = next
        .run(req)
        .instrument(tracing::info_span!("request", cid = %id))
        .await;
    let (user, org_id) = signed_in.names();
    tracing::info!(
        target: "depot::access",
        cid = %id,
        user = %user,
        org_id = %org_id,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "{method} {path}"
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(HEADER, v);
    }
    resp
}

impl<S: Send + Sync> FromRequestParts<S> for CorrelationId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CorrelationId>()
            .cloned()
            .unwrap_or_else(|| CorrelationId(uuid::Uuid::new_v4().simple().to_string())))
    }
}

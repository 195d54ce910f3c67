//! `GET /pulp/api/v3/docs/api.json`: the OpenAPI document, assembled from every API crate's
//! operations. Anonymous, like Pulp. Built once per process.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use depot_http::AppState;
use depot_http::openapi::{ApiDoc, Op};

/// The whole document.
pub fn document() -> serde_json::Value {
    let mut doc = ApiDoc::default();
    api_status::openapi(&mut doc);
    api_repositories::openapi(&mut doc);
    api_remotes::openapi(&mut doc);
    api_content::openapi(&mut doc);
    api_artifacts::openapi(&mut doc);
    api_publications::openapi(&mut doc);
    api_distributions::openapi(&mut doc);
    api_tasks::openapi(&mut doc);
    api_orphans::openapi(&mut doc);
    api_namespaces::openapi(&mut doc);
    api_access::openapi(&mut doc);
    doc.add(
        Op::new(
            "get",
            "/pulp/api/v3/docs/api.json",
            "docs_api.json_get",
            "Docs",
        )
        .anonymous()
        .response(200, Some(serde_json::json!({"type": "object"}))),
    );
    doc.build(api_status::VERSIONS)
}

fn cached() -> Arc<Vec<u8>> {
    static DOC: OnceLock<Arc<Vec<u8>>> = OnceLock::new();
    DOC.get_or_init(|| Arc::new(serde_json::to_vec(&document()).unwrap_or_default()))
        .clone()
}

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/pulp/api/v3/docs/api.json",
        get(|| async {
            let mut resp = Response::new(Body::from(cached().as_ref().clone()));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }),
    )
}

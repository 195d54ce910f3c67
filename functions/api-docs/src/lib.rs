//! `GET /pulp/api/v3/docs/api.json`: the OpenAPI document, assembled from every API crate's
//! operations. Anonymous, like Pulp. Built once per process.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use depot_http::AppState;
use depot_http::openapi::{ApiDoc, Op};
use serde_json::{Map, Value, json};

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
    api_import_export::openapi(&mut doc);
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
    doc.build(&depot_core::plugin::api_versions())
}

/// The document of a server with domains in its URLs (`PULP_DOMAIN_ENABLED`): as Pulp's, its
/// paths start `/pulp/{pulp_domain}/api/v3/` (but the docs' and the status'), each operation
/// takes `pulp_domain`, and `x-pulp-domain-enabled` tells clients to fill it in.
pub fn with_domains(mut doc: Value) -> Value {
    doc["info"]["x-pulp-domain-enabled"] = json!(true);
    let Some(Value::Object(paths)) = doc.get_mut("paths").map(std::mem::take) else {
        return doc;
    };
    let root = depot_core::hrefs::API_ROOT;
    // `x-isDomain` lets binding generators give it a default, as Pulp's do ("default").
    let param = json!({"name": "pulp_domain", "in": "path", "required": true,
                       "schema": {"type": "string"}, "x-isDomain": true});
    let mut out = Map::new();
    for (path, mut ops) in paths {
        let in_domain = match path.strip_prefix(root) {
            Some(rest) => !rest.starts_with("docs/") && rest != "status/" && rest != "livez/",
            None => false,
        };
        if !in_domain {
            out.insert(path, ops);
            continue;
        }
        if let Value::Object(ops) = &mut ops {
            for op in ops.values_mut() {
                if let Some(Value::Array(params)) = op.get_mut("parameters") {
                    params.insert(0, param.clone());
                } else if op.is_object() {
                    op["parameters"] = json!([param.clone()]);
                }
            }
        }
        let path = format!("/pulp/{{pulp_domain}}/api/v3/{}", &path[root.len()..]);
        out.insert(path, ops);
    }
    doc["paths"] = Value::Object(out);
    doc
}

fn cached(domains: bool) -> Arc<Vec<u8>> {
    static PLAIN: OnceLock<Arc<Vec<u8>>> = OnceLock::new();
    static DOMAINS: OnceLock<Arc<Vec<u8>>> = OnceLock::new();
    let (cell, shape): (_, fn(Value) -> Value) = match domains {
        false => (&PLAIN, |d| d),
        true => (&DOMAINS, with_domains),
    };
    cell.get_or_init(|| Arc::new(serde_json::to_vec(&shape(document())).unwrap_or_default()))
        .clone()
}

/// The docs page (`docs/`), as Pulp serves one: anonymous, self-contained (no scripts from
/// elsewhere), pointing at the OpenAPI document every client generator reads.
const DOCS_PAGE: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Pulp 3 API</title></head>\n\
<body><h1>Pulp 3 API</h1>\n<p>The REST API is described by its OpenAPI 3 document: \
<a href=\"api.json\">api.json</a>.</p>\n</body></html>\n";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/pulp/api/v3/docs/",
            get(|| async {
                let mut resp = Response::new(Body::from(DOCS_PAGE));
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                resp
            }),
        )
        .route(
            "/pulp/api/v3/docs/api.json",
            get(|State(state): State<AppState>| async move {
                let doc = cached(state.settings.domain_enabled);
                let mut resp = Response::new(Body::from(doc.as_ref().clone()));
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                resp
            }),
        )
}

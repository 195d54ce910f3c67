//! `GET /pulp/api/v3/docs/api.json`: the OpenAPI document, assembled from every API crate's
//! operations. Anonymous, like Pulp. Built once per process.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use depot_http::openapi::{ApiDoc, Op};
use depot_http::{AppState, QueryMap};
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
    api_signing_services::openapi(&mut doc);
    api_orphans::openapi(&mut doc);
    api_namespaces::openapi(&mut doc);
    api_access::openapi(&mut doc);
    api_import_export::openapi(&mut doc);
    api_upstream_pulps::openapi(&mut doc);
    api_vulnerability_reports::openapi(&mut doc);
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

/// The document with Pulp's `?pk_path=1` shape: each path written out from the API root, an
/// object named by a path parameter of its key (`/pulp/api/v3/tasks/{task_pk}/`) rather than
/// by its whole href (`{task_href}`). Such paths are valid OpenAPI, which generators that
/// insist on it read.
pub fn with_pk_paths(mut doc: Value) -> Value {
    let Some(Value::Object(paths)) = doc.get_mut("paths").map(std::mem::take) else {
        return doc;
    };
    // An href parameter's collection: where the list of the same prefix as its read lives.
    let op_ids = |ops: &Value| -> Vec<String> {
        ops.as_object()
            .map(|o| {
                o.values()
                    .filter_map(|op| op["operationId"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut lists: HashMap<String, String> = HashMap::new();
    for (path, ops) in &paths {
        for id in op_ids(ops) {
            if let Some(prefix) = id.strip_suffix("_list") {
                lists.insert(prefix.to_string(), path.clone());
            }
        }
    }
    let mut collections: HashMap<String, String> = HashMap::new();
    for (path, ops) in &paths {
        let Some(name) = path.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
            continue;
        };
        for id in op_ids(ops) {
            if let Some(list) = id.strip_suffix("_read").and_then(|p| lists.get(p)) {
                collections.insert(name.to_string(), list.clone());
            }
        }
    }
    // Written out whole: nested collections start with their parent's href.
    let expand = |path: &str| -> String {
        let mut path = path.to_string();
        for _ in 0..4 {
            let Some(rest) = path.strip_prefix('{') else {
                break;
            };
            let Some((name, tail)) = rest.split_once('}') else {
                break;
            };
            let base = collections
                .get(name)
                .cloned()
                .unwrap_or_else(|| format!("{}{}/", depot_core::hrefs::API_ROOT, name));
            let key = name.strip_suffix("_href").unwrap_or(name);
            path = format!("{base}{{{key}_pk}}/{tail}");
        }
        path
    };
    let mut out = Map::new();
    for (path, mut ops) in paths {
        let written = expand(&path);
        let names: Vec<String> = written
            .split('{')
            .skip(1)
            .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
            .collect();
        if let Value::Object(ops) = &mut ops {
            for op in ops.values_mut() {
                let mut params: Vec<Value> = match op.get_mut("parameters") {
                    Some(Value::Array(ps)) => std::mem::take(ps),
                    _ => Vec::new(),
                };
                params.retain(|p| p["in"] != "path");
                for name in names.iter().rev() {
                    params.insert(
                        0,
                        json!({"name": name, "in": "path", "required": true,
                               "schema": {"type": "string", "format": "uuid"}}),
                    );
                }
                if op.is_object() && !params.is_empty() {
                    op["parameters"] = Value::Array(params);
                }
            }
        }
        out.insert(written, ops);
    }
    doc["paths"] = Value::Object(out);
    doc
}

/// The document's paths under `PULP_API_ROOT`, where clients reach them.
pub fn with_public_root(mut doc: Value) -> Value {
    let root = depot_core::hrefs::public_root();
    if root == depot_core::hrefs::ROUTED_ROOT {
        return doc;
    }
    if let Some(Value::Object(paths)) = doc.get_mut("paths").map(std::mem::take) {
        let moved = paths
            .into_iter()
            .map(
                |(path, ops)| match path.strip_prefix(depot_core::hrefs::ROUTED_ROOT) {
                    Some(rest) => (format!("{root}{rest}"), ops),
                    None => (path, ops),
                },
            )
            .collect();
        doc["paths"] = Value::Object(moved);
    }
    doc
}

fn cached(domains: bool, pk_path: bool) -> Arc<Vec<u8>> {
    static KEPT: [OnceLock<Arc<Vec<u8>>>; 4] = [const { OnceLock::new() }; 4];
    let cell = &KEPT[usize::from(domains) * 2 + usize::from(pk_path)];
    cell.get_or_init(|| {
        let mut doc = document();
        if pk_path {
            doc = with_pk_paths(doc);
        }
        if domains {
            doc = with_domains(doc);
        }
        doc = with_public_root(doc);
        Arc::new(serde_json::to_vec(&doc).unwrap_or_default())
    })
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
            get(
                |State(state): State<AppState>, query: QueryMap| async move {
                    let pk_path = query.get("pk_path").is_some();
                    let doc = cached(state.settings.domain_enabled, pk_path);
                    let mut resp = Response::new(Body::from(doc.as_ref().clone()));
                    resp.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    resp
                },
            ),
        )
}

//! `GET /pulp/api/v3/status/`: versions, online apps and connection health. Anonymous, like Pulp.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use depot_http::openapi::{ApiDoc, Op};
use depot_http::{ApiResult, AppState, ok};
use schemars::JsonSchema;
use serde::Serialize;

/// The Pulp API levels Depot implements, as `(component, version)`. pulp-cli gates its features
/// on these (PEP 440 versions); they are also the spec's `x-pulp-app-versions`.
/// `container` 2.28: push repositories are `container-push` and remotes filter with
/// `includes`/`excludes` (the older `include_tags`/`exclude_tags` still accepted).
pub const VERSIONS: &[(&str, &str)] = &[
    ("core", "3.86.0"),
    ("file", "3.86.0"),
    ("container", "2.28.0"),
    ("python", "3.11.0"),
];

pub fn router() -> Router<AppState> {
    Router::new().route("/pulp/api/v3/status/", get(status))
}

#[derive(Serialize, JsonSchema)]
pub struct VersionResponse {
    pub component: String,
    pub version: String,
    pub package: String,
    pub module: String,
    pub domain_compatible: bool,
}

#[derive(Serialize, JsonSchema)]
pub struct AppStatusResponse {
    pub name: String,
    pub last_heartbeat: String,
    pub versions: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize, JsonSchema)]
pub struct DatabaseConnectionResponse {
    pub connected: bool,
}

#[derive(Serialize, JsonSchema)]
pub struct ContentSettingsResponse {
    pub content_origin: Option<String>,
    pub content_path_prefix: String,
}

/// Health and versions of the running services.
#[derive(Serialize, JsonSchema)]
pub struct StatusResponse {
    pub versions: Vec<VersionResponse>,
    pub online_workers: Vec<AppStatusResponse>,
    pub online_api_apps: Vec<AppStatusResponse>,
    pub online_content_apps: Vec<AppStatusResponse>,
    pub database_connection: DatabaseConnectionResponse,
    pub content_settings: ContentSettingsResponse,
    pub domain_enabled: bool,
}

async fn status(State(state): State<AppState>) -> ApiResult<Response> {
    let connected = state.db.is_reachable().await;
    let now = depot_core::time::now();
    let versions: serde_json::Map<String, serde_json::Value> = VERSIONS
        .iter()
        .map(|(c, v)| (c.to_string(), serde_json::json!(v)))
        .collect();
    let app = |name: String| AppStatusResponse {
        name,
        last_heartbeat: now.clone(),
        versions: versions.clone(),
    };
    let host = state.settings.listen.clone();
    let workers = (0..state.settings.workers)
        .map(|i| app(format!("worker-{i}@{host}")))
        .collect();
    Ok(ok(&StatusResponse {
        versions: VERSIONS
            .iter()
            .map(|(component, version)| VersionResponse {
                component: component.to_string(),
                version: version.to_string(),
                package: format!("depot-{component}"),
                module: format!("depot.{component}"),
                domain_compatible: true,
            })
            .collect(),
        online_workers: workers,
        online_api_apps: vec![app(format!("api@{host}"))],
        online_content_apps: vec![app(format!("content@{host}"))],
        database_connection: DatabaseConnectionResponse { connected },
        content_settings: ContentSettingsResponse {
            content_origin: Some(state.settings.content_origin.clone()),
            content_path_prefix: state.settings.content_path_prefix.clone(),
        },
        domain_enabled: state.settings.domain_enabled,
    }))
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<StatusResponse>();
    doc.add(
        Op::new("get", "/pulp/api/v3/status/", "status_read", "Status")
            .summary("Inspect status of Pulp")
            .anonymous()
            .response(200, Some(resp)),
    );
}

//! `GET /pulp/api/v3/status/`: versions, online apps, connection health and storage;
//! `livez/`, the API's liveness probe; and the API root, `/pulp/api/v3/`, which names the
//! collections. All anonymous, like Pulp's.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use depot_http::openapi::{ApiDoc, Op};
use depot_http::{ApiResult, AppState, ok};
use schemars::JsonSchema;
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pulp/api/v3/status/", get(status))
        .route(
            "/pulp/api/v3/livez/",
            get(|| async { axum::http::StatusCode::OK }),
        )
        .route("/pulp/api/v3/", get(root))
}

/// The API root: each top-level collection (`artifacts`, `repositories`, ...) and its URL under
/// the API root in force, as Pulp's browsable root lists them.
async fn root() -> Response {
    let api_root = depot_core::domain::api_root();
    let mut names: Vec<&str> = depot_core::plugin::resource_types()
        .filter_map(|k| k.collection.split('/').next())
        .filter(|name| !name.is_empty())
        .chain(["status", "livez", "orphans", "repair", "docs", "login"])
        .collect();
    names.sort_unstable();
    names.dedup();
    let links: serde_json::Map<String, serde_json::Value> = names
        .into_iter()
        .map(|name| (name.to_string(), format!("{api_root}{name}/").into()))
        .collect();
    ok(&links)
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

/// The storage of the domain in force, in bytes: the disk's figures for the deployment's own
/// filesystem storage, else what the domain's files take (the others unknown), as Pulp gives it.
#[derive(Clone, Copy, Serialize, JsonSchema)]
pub struct StorageResponse {
    pub total: Option<u64>,
    pub used: Option<u64>,
    pub free: Option<u64>,
}

/// Health and versions of the running services.
#[derive(Serialize, JsonSchema)]
pub struct StatusResponse {
    pub versions: Vec<VersionResponse>,
    pub online_workers: Vec<AppStatusResponse>,
    pub online_api_apps: Vec<AppStatusResponse>,
    pub online_content_apps: Vec<AppStatusResponse>,
    pub database_connection: DatabaseConnectionResponse,
    /// Pulp's Redis (its content cache); Depot has none: never connected.
    pub redis_connection: DatabaseConnectionResponse,
    pub content_settings: ContentSettingsResponse,
    pub domain_enabled: bool,
    pub storage: Option<StorageResponse>,
}

/// How long a domain's storage figures are kept: anyone may ask for them, and the sum over a
/// domain's artifacts is not free. An artifact recorded or deleted here ends them sooner (the
/// other processes' changes show after this long at most).
const STORAGE_TTL: Duration = Duration::from_secs(30);
/// The most domains whose figures are kept (then they start over).
const STORAGE_KEPT: usize = 10_000;

type Kept = (Instant, u64, StorageResponse);
static STORAGE: LazyLock<Mutex<HashMap<String, Kept>>> = LazyLock::new(Default::default);

/// The storage figures of the domain in force; `None` when they cannot be had.
async fn storage(state: &AppState) -> Option<StorageResponse> {
    let domain = depot_core::domain::id().to_string();
    let changes = depot_core::models::artifact::changes();
    if let Some((at, seen, kept)) = STORAGE.lock().ok()?.get(&domain)
        && at.elapsed() < STORAGE_TTL
        && *seen == changes
    {
        return Some(*kept);
    }
    let disk = match &*domain == depot_core::domain::DEFAULT_ID {
        true => state.storage.space().await.ok().flatten(),
        false => None,
    };
    let figures = match disk {
        Some(d) => StorageResponse {
            total: Some(d.total),
            used: Some(d.used),
            free: Some(d.free),
        },
        None => {
            let used = depot_core::models::artifact::bytes_used(&state.db)
                .await
                .ok()?;
            StorageResponse {
                total: None,
                used: Some(used.max(0) as u64),
                free: None,
            }
        }
    };
    let mut kept = STORAGE.lock().ok()?;
    if kept.len() >= STORAGE_KEPT {
        kept.clear();
    }
    kept.insert(domain, (Instant::now(), changes, figures));
    Some(figures)
}

async fn status(State(state): State<AppState>) -> ApiResult<Response> {
    let connected = state.db.is_reachable().await;
    let now = depot_core::time::now();
    let api_versions = depot_core::plugin::api_versions();
    let versions: serde_json::Map<String, serde_json::Value> = api_versions
        .iter()
        .map(|(c, v)| (c.to_string(), serde_json::json!(v)))
        .collect();
    let app = |name: String| AppStatusResponse {
        name,
        last_heartbeat: now.clone(),
        versions: versions.clone(),
    };
    let host = state.settings.listen.clone();
    // The task workers are those heard from lately, wherever they run; the API and content
    // apps are this process (any process serving the request is both).
    let workers = match depot_core::models::worker::online(&state.db).await {
        Ok(found) => found
            .into_iter()
            .map(|w| AppStatusResponse {
                name: w.name,
                last_heartbeat: w.last_heartbeat,
                versions: w.versions.as_object().cloned().unwrap_or_default(),
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    Ok(ok(&StatusResponse {
        versions: api_versions
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
        redis_connection: DatabaseConnectionResponse { connected: false },
        content_settings: ContentSettingsResponse {
            content_origin: Some(state.settings.content_origin.clone()),
            content_path_prefix: state.settings.content_path_prefix.clone(),
        },
        domain_enabled: state.settings.domain_enabled,
        storage: storage(&state).await,
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
    doc.add(
        Op::new("get", "/pulp/api/v3/", "api_root_read", "Api Root")
            .summary("The collections of the API and their URLs.")
            .anonymous()
            .response(200, None),
    );
    doc.add(
        Op::new("get", "/pulp/api/v3/livez/", "livez_read", "Livez")
            .summary("Inspect liveness of Pulp's REST API.")
            .anonymous()
            .response(200, None),
    );
}

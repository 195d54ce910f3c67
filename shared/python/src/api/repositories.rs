//! Python repositories (`repositories/python/python/`) and their action `sync/` (from another
//! package index).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use depot_core::hrefs::Kind;
use depot_core::models::Labels;
use depot_core::models::repository::{FileRepositoryResponse, Repository};
use depot_core::tasks::args::RemoteSync;
use depot_http::access::params;
use depot_http::openapi::ApiDoc;
use depot_http::plugin_api::RepositoryType;
use depot_http::plugin_api::repository::{acting_on, action, dispatch_sync, sync_remote};
use depot_http::{ApiResult, AppState, Caller, CorrelationId, Fields};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Python repositories: filled by twine uploads, the `modify/` action and syncs.
pub struct Repositories;

impl RepositoryType for Repositories {
    const PULP_TYPE: &'static str = "python.python";
    const KIND: Kind = &crate::plugin::REPOSITORY;
    const REMOTE: Option<Kind> = Some(&crate::plugin::REMOTE);
    const CONTENT: &'static [Kind] = &[&crate::plugin::PACKAGE];
    const CREATABLE: bool = true;
    const BASE: &'static str = "/pulp/api/v3/repositories/python/python/";
    const PREFIX: &'static str = "repositories_python_python";
    const HREF_PARAM: &'static str = "python_python_repository_href";
    const VERSION_HREF_PARAM: &'static str = "python_python_repository_version_href";
    const TAG: &'static str = "Repositories: Python";
    const VERSIONS_TAG: &'static str = "Repositories: Python Versions";

    type Create = PythonRepository;
    type Patch = PatchedPythonRepository;
    type Response = PythonPythonRepositoryResponse;

    fn response(repo: &Repository) -> PythonPythonRepositoryResponse {
        PythonPythonRepositoryResponse {
            common: repo.response(),
            allow_package_substitution: true,
        }
    }
}

/// A python repository to create or replace.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PythonRepository {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub pulp_labels: Option<Labels>,
    #[schemars(range(min = 1, max = 2147483647))]
    #[serde(default)]
    pub retain_repo_versions: Option<i64>,
    #[schemars(range(min = 1, max = 2147483647))]
    #[serde(default)]
    pub retain_checkpoints: Option<i64>,
    #[serde(default)]
    pub remote: Option<String>,
    #[serde(default)]
    pub autopublish: Option<bool>,
}

/// Fields to change on a python repository.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchedPythonRepository {
    pub name: Option<String>,
    pub description: Option<String>,
    pub pulp_labels: Option<Labels>,
    #[schemars(range(min = 1, max = 2147483647))]
    pub retain_repo_versions: Option<i64>,
    #[schemars(range(min = 1, max = 2147483647))]
    pub retain_checkpoints: Option<i64>,
    pub remote: Option<String>,
    pub autopublish: Option<bool>,
}

/// A python repository: a file repository's fields and whether a file may be replaced by one
/// with other bytes (always, here, as in pulp_python's default).
#[derive(Debug, Serialize, JsonSchema)]
pub struct PythonPythonRepositoryResponse {
    #[serde(flatten)]
    pub common: FileRepositoryResponse,
    pub allow_package_substitution: bool,
}

pub const SYNC_TASK: &str = "pulp_python.app.tasks.sync.sync";

pub fn routes() -> Router<AppState> {
    Router::new().route(&format!("{}{{id}}/sync/", Repositories::BASE), post(sync))
}

/// What a python sync uses.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PythonRepositorySyncURL {
    #[serde(default)]
    pub remote: Option<String>,
    /// Remove the packages the remote no longer offers.
    #[serde(default)]
    pub mirror: Option<bool>,
}

async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let params = params(&fields);
    let repo = acting_on::<Repositories>(&state, &caller, &id, "sync", params).await?;
    let body: PythonRepositorySyncURL = fields.parse()?;
    let user = &caller.user;
    let remote_id = sync_remote::<Repositories>(&state, &repo, body.remote.as_deref()).await?;
    let args = crate::plugin::Sync(RemoteSync {
        repository_id: id,
        remote_id: remote_id.clone(),
        mirror: body.mirror.unwrap_or(false),
    });
    dispatch_sync::<Repositories>(&state, (user, &cid), &repo, &remote_id, SYNC_TASK, args).await
}

pub fn openapi(doc: &mut ApiDoc) {
    let body = doc.schema::<PythonRepositorySyncURL>();
    action::<Repositories>(doc, "sync", "Sync from a remote", body);
}

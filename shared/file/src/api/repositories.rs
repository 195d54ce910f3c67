//! File repositories (`repositories/file/file/`) and their action `sync/` (from a
//! PULP_MANIFEST).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use depot_core::CoreError;
use depot_core::hrefs::Kind;
use depot_core::models::Labels;
use depot_core::models::repository::{FileRepositoryResponse, NewRepository, Repository};
use depot_http::access::params;
use depot_http::openapi::ApiDoc;
use depot_http::plugin_api::RepositoryType;
use depot_http::plugin_api::repository::{acting_on, action, dispatch_sync, sync_remote};
use depot_http::{ApiResult, AppState, Caller, CorrelationId, Fields};
use schemars::JsonSchema;
use serde::Deserialize;

/// File repositories: filled by syncs, uploads and `modify/`.
pub struct Repositories;

impl RepositoryType for Repositories {
    const PULP_TYPE: &'static str = "file.file";
    const KIND: Kind = &crate::REPOSITORY;
    const REMOTE: Option<Kind> = Some(&crate::REMOTE);
    const CONTENT: &'static [Kind] = &[&crate::CONTENT];
    const CREATABLE: bool = true;
    const BASE: &'static str = "/pulp/api/v3/repositories/file/file/";
    const PREFIX: &'static str = "repositories_file_file";
    const HREF_PARAM: &'static str = "file_file_repository_href";
    const VERSION_HREF_PARAM: &'static str = "file_file_repository_version_href";
    const TAG: &'static str = "Repositories: File";
    const VERSIONS_TAG: &'static str = "Repositories: File Versions";

    type Create = FileRepository;
    type Patch = PatchedFileRepository;
    type Response = FileRepositoryResponse;

    fn response(repo: &Repository) -> FileRepositoryResponse {
        repo.response()
    }

    fn defaults(new: &mut NewRepository) {
        new.manifest.get_or_insert_with(|| "PULP_MANIFEST".into());
    }
}

/// A file repository to create or replace.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRepository {
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
    #[serde(default)]
    pub manifest: Option<String>,
}

/// Fields to change on a file repository.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchedFileRepository {
    pub name: Option<String>,
    pub description: Option<String>,
    pub pulp_labels: Option<Labels>,
    #[schemars(range(min = 1, max = 2147483647))]
    pub retain_repo_versions: Option<i64>,
    #[schemars(range(min = 1, max = 2147483647))]
    pub retain_checkpoints: Option<i64>,
    pub remote: Option<String>,
    pub autopublish: Option<bool>,
    pub manifest: Option<String>,
}

pub const SYNC_TASK: &str = "pulp_file.app.tasks.synchronizing.synchronize";

pub fn routes() -> Router<AppState> {
    Router::new().route(&format!("{}{{id}}/sync/", Repositories::BASE), post(sync))
}

/// What a sync uses.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRepositorySyncURL {
    /// A remote to sync from; overrides the repository's remote.
    #[serde(default)]
    pub remote: Option<String>,
    /// Remove content that is not in the remote.
    #[serde(default)]
    pub mirror: Option<bool>,
    /// Skip the sync when nothing changed since the last one.
    #[serde(default)]
    pub optimize: Option<bool>,
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
    let body: FileRepositorySyncURL = fields.parse()?;
    let user = &caller.user;
    let remote_id = sync_remote::<Repositories>(&state, &repo, body.remote.as_deref()).await?;
    let mirror = body.mirror.unwrap_or(false);
    if mirror && repo.autopublish {
        return Err(
            CoreError::invalid("Cannot use mirror mode with autopublished repository.").into(),
        );
    }
    let args = crate::Sync {
        repository_id: id,
        remote_id: remote_id.clone(),
        mirror,
        optimize: body.optimize.unwrap_or(true),
    };
    dispatch_sync::<Repositories>(&state, (user, &cid), &repo, &remote_id, SYNC_TASK, args).await
}

pub fn openapi(doc: &mut ApiDoc) {
    let sync_req = doc.schema::<FileRepositorySyncURL>();
    action::<Repositories>(doc, "sync", "Sync from a remote", sync_req);
}

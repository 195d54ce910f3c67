//! The file repository actions: `sync/` and `modify/`.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use depot_core::CoreError;
use depot_core::hrefs::Kind;
use depot_core::tasks::{Dispatch, MODIFY_HANDLER, SYNC_HANDLER};
use depot_http::openapi::ApiDoc;
use depot_http::{ApiResult, AppState, Authenticated, CorrelationId, Fields, dispatched};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::crud::{action, content_ids, find, sync_remote};
use crate::types::{File, RepositoryType};

pub const SYNC_TASK: &str = "pulp_file.app.tasks.synchronizing.synchronize";
pub const MODIFY_TASK: &str = "pulpcore.app.tasks.repository.add_and_remove";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{}{{id}}/sync/", File::BASE), post(sync))
        .route(&format!("{}{{id}}/modify/", File::BASE), post(modify))
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

/// Content to add and remove in a new repository version.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepositoryAddRemoveContent {
    #[serde(default)]
    pub add_content_units: Option<Vec<String>>,
    #[serde(default)]
    pub remove_content_units: Option<Vec<String>>,
    #[serde(default)]
    pub base_version: Option<String>,
    #[serde(default)]
    pub overwrite: Option<bool>,
}

async fn sync(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: FileRepositorySyncURL = fields.parse()?;
    let repo = find::<File>(&state, &id).await?;
    let remote_id = sync_remote::<File>(&state, &repo, body.remote.as_deref()).await?;
    let mirror = body.mirror.unwrap_or(false);
    if mirror && repo.autopublish {
        return Err(CoreError::invalid("Cannot use 'mirror' together with 'autopublish'.").into());
    }
    let d = Dispatch::new(SYNC_TASK,
        SYNC_HANDLER,
        json!({"repository_id": id, "remote_id": remote_id, "mirror": mirror, "optimize": body.optimize.unwrap_or(true)}),)
        .exclusive(vec![repo.prn()])
        .shared(vec![Kind::FileRemote.prn(&remote_id)])
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

async fn modify(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: RepositoryAddRemoveContent = fields.parse()?;
    let repo = find::<File>(&state, &id).await?;
    let add = content_ids::<File>(
        &state,
        "add_content_units",
        body.add_content_units.unwrap_or_default(),
    )
    .await?;
    let remove_all = body
        .remove_content_units
        .as_ref()
        .is_some_and(|r| r.iter().any(|h| h == "*"));
    let remove = if remove_all {
        Vec::new()
    } else {
        content_ids::<File>(
            &state,
            "remove_content_units",
            body.remove_content_units.unwrap_or_default(),
        )
        .await?
    };
    let base_number = match body.base_version.as_deref() {
        Some(h) => {
            let (repo_id, n) = depot_core::hrefs::resolve_version("base_version", h)?;
            if repo_id != id {
                return Err(CoreError::field(
                    "base_version",
                    "The base version must belong to this repository.",
                )
                .into());
            }
            depot_core::models::version::get(&state.db, &repo_id, n)
                .await
                .map_err(|_| depot_core::hrefs::missing("base_version", h))?;
            Some(n)
        }
        None => None,
    };
    let d = Dispatch::new(
        MODIFY_TASK,
        MODIFY_HANDLER,
        json!({"repository_id": id, "add": add, "remove": remove, "remove_all": remove_all,
               "base_number": base_number, "overwrite": body.overwrite.unwrap_or(true)}),
    )
    .exclusive(vec![repo.prn()])
    .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

pub fn openapi(doc: &mut ApiDoc) {
    let sync_req = doc.schema::<FileRepositorySyncURL>();
    action::<File>(doc, "sync", "Sync from a remote", sync_req);
    let modify_req = doc.schema::<RepositoryAddRemoveContent>();
    action::<File>(doc, "modify", "Modify repository content", modify_req);
}

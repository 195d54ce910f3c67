//! The file repository action `sync/` (from a PULP_MANIFEST).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use depot_core::CoreError;
use depot_http::openapi::ApiDoc;
use depot_http::{ApiResult, AppState, Authenticated, CorrelationId, Fields};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::crud::{action, dispatch_sync, find, sync_remote};
use crate::types::{File, RepositoryType};

pub const SYNC_TASK: &str = "pulp_file.app.tasks.synchronizing.synchronize";

pub fn routes() -> Router<AppState> {
    Router::new().route(&format!("{}{{id}}/sync/", File::BASE), post(sync))
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
    let args = depot_file::Sync {
        repository_id: id,
        remote_id: remote_id.clone(),
        mirror,
        optimize: body.optimize.unwrap_or(true),
    };
    dispatch_sync::<File>(&state, (&user, &cid), &repo, &remote_id, SYNC_TASK, args).await
}

pub fn openapi(doc: &mut ApiDoc) {
    let sync_req = doc.schema::<FileRepositorySyncURL>();
    action::<File>(doc, "sync", "Sync from a remote", sync_req);
}

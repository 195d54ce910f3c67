//! The python repository action `sync/` (from another package index).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use depot_core::tasks::args::RemoteSync;
use depot_http::openapi::ApiDoc;
use depot_http::{ApiResult, AppState, Authenticated, CorrelationId, Fields};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::crud::{action, dispatch_sync, find, sync_remote};
use crate::types::{Python, RepositoryType};

pub const SYNC_TASK: &str = "pulp_python.app.tasks.sync.sync";

pub fn routes() -> Router<AppState> {
    Router::new().route(&format!("{}{{id}}/sync/", Python::BASE), post(sync))
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
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: PythonRepositorySyncURL = fields.parse()?;
    let repo = find::<Python>(&state, &id).await?;
    let remote_id = sync_remote::<Python>(&state, &repo, body.remote.as_deref()).await?;
    let args = depot_python::plugin::Sync(RemoteSync {
        repository_id: id,
        remote_id: remote_id.clone(),
        mirror: body.mirror.unwrap_or(false),
    });
    dispatch_sync::<Python>(&state, (&user, &cid), &repo, &remote_id, SYNC_TASK, args).await
}

pub fn openapi(doc: &mut ApiDoc) {
    let body = doc.schema::<PythonRepositorySyncURL>();
    action::<Python>(doc, "sync", "Sync from a remote", body);
}

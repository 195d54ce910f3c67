//! The container repository actions: `tag/`, `untag/`, `add/`, `remove/` and `sync/` on
//! container repositories; `tag/`, `untag/` and `remove_image/` on push repositories.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use depot_container::store::{self, Repo};
use depot_container::{ADD_HANDLER, Digest, REMOVE_HANDLER, SYNC_HANDLER, names};
use depot_core::CoreError;
use depot_core::hrefs::Kind;
use depot_core::models::repository::Repository;
use depot_core::tasks::Dispatch;
use depot_http::openapi::ApiDoc;
use depot_http::{ApiResult, AppState, Authenticated, CorrelationId, Fields, dispatched};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::crud::{action, content_ids, find, sync_remote};
use crate::types::{Container, ContainerPush, RepositoryType};

pub const SYNC_TASK: &str = "pulp_container.app.tasks.synchronize";
const TAG_TASK: &str = "pulp_container.app.tasks.tag_image";
const UNTAG_TASK: &str = "pulp_container.app.tasks.untag_image";
const ADD_TASK: &str = "pulp_container.app.tasks.recursive_add_content";
const REMOVE_TASK: &str = "pulp_container.app.tasks.recursive_remove_content";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{}{{id}}/tag/", Container::BASE),
            post(tag::<Container>),
        )
        .route(
            &format!("{}{{id}}/untag/", Container::BASE),
            post(untag::<Container>),
        )
        .route(&format!("{}{{id}}/add/", Container::BASE), post(add))
        .route(&format!("{}{{id}}/remove/", Container::BASE), post(remove))
        .route(&format!("{}{{id}}/sync/", Container::BASE), post(sync))
        .route(
            &format!("{}{{id}}/tag/", ContainerPush::BASE),
            post(tag::<ContainerPush>),
        )
        .route(
            &format!("{}{{id}}/untag/", ContainerPush::BASE),
            post(untag::<ContainerPush>),
        )
        .route(
            &format!("{}{{id}}/remove_image/", ContainerPush::BASE),
            post(remove_image),
        )
}

/// A tag to put on the manifest with `digest`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagImage {
    pub tag: String,
    pub digest: String,
}

/// A tag to take off.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnTagImage {
    pub tag: String,
}

/// Content to add or remove; their tags, manifests and blobs come along.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecursiveManage {
    #[serde(default)]
    pub content_units: Option<Vec<String>>,
}

/// The image (manifest) to remove from a push repository, with its tags.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveImage {
    pub digest: String,
}

/// What a container sync uses.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerRepositorySyncURL {
    #[serde(default)]
    pub remote: Option<String>,
    /// Remove the tags (and what only they need) that the remote no longer has.
    #[serde(default)]
    pub mirror: Option<bool>,
    #[serde(default)]
    pub signed_only: Option<bool>,
}

fn digest(raw: &str) -> ApiResult<Digest> {
    raw.parse::<Digest>()
        .map_err(|_| CoreError::field("digest", format!("'{raw}' is not a valid digest.")).into())
}

/// Dispatches a container task that holds the repository.
async fn run(
    state: &AppState,
    user: &depot_core::users::User,
    cid: &CorrelationId,
    repo: &Repository,
    (name, handler): (&'static str, &'static str),
    args: Value,
) -> ApiResult<Response> {
    let d = Dispatch::new(name, handler, args)
        .exclusive(vec![repo.prn()])
        .requested_by(&user.id, &cid.0);
    dispatched(state, d).await
}

async fn tag<P: RepositoryType>(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: TagImage = fields.parse()?;
    names::validate_tag(&body.tag).map_err(|e| CoreError::field("tag", e.to_string()))?;
    let digest = digest(&body.digest)?;
    let repo = find::<P>(&state, &id).await?;
    let manifest = store::manifest_by_digest(&state.db, &Repo::of(&repo), &digest)
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
        .ok_or_else(|| {
            CoreError::invalid(format!(
                "A manifest with the digest '{digest}' does not exist in the latest repository version."
            ))
        })?;
    let args = json!({"repository_id": id, "tag": body.tag, "manifest_id": manifest.content_id});
    run(&state, &user, &cid, &repo, (TAG_TASK, ADD_HANDLER), args).await
}

async fn untag<P: RepositoryType>(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: UnTagImage = fields.parse()?;
    let repo = find::<P>(&state, &id).await?;
    let tag = store::tag_id(&state.db, &Repo::of(&repo), &body.tag)
        .await?
        .ok_or_else(|| {
            CoreError::invalid(format!(
                "The tag '{}' does not exist in the latest repository version.",
                body.tag
            ))
        })?;
    let args = json!({"repository_id": id, "content_ids": [tag]});
    run(
        &state,
        &user,
        &cid,
        &repo,
        (UNTAG_TASK, REMOVE_HANDLER),
        args,
    )
    .await
}

async fn add(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: RecursiveManage = fields.parse()?;
    let repo = find::<Container>(&state, &id).await?;
    let hrefs = body.content_units.unwrap_or_default();
    let ids = content_ids::<Container>(&state, "content_units", hrefs).await?;
    let args = json!({"repository_id": id, "content_ids": ids});
    run(&state, &user, &cid, &repo, (ADD_TASK, ADD_HANDLER), args).await
}

async fn remove(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: RecursiveManage = fields.parse()?;
    let repo = find::<Container>(&state, &id).await?;
    let hrefs = body.content_units.unwrap_or_default();
    let args = if hrefs.iter().any(|h| h == "*") {
        json!({"repository_id": id, "content_ids": [], "all": true, "recursive": true})
    } else {
        let ids = content_ids::<Container>(&state, "content_units", hrefs).await?;
        json!({"repository_id": id, "content_ids": ids, "recursive": true})
    };
    run(
        &state,
        &user,
        &cid,
        &repo,
        (REMOVE_TASK, REMOVE_HANDLER),
        args,
    )
    .await
}

async fn remove_image(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: RemoveImage = fields.parse()?;
    let digest = digest(&body.digest)?;
    let repo = find::<ContainerPush>(&state, &id).await?;
    let manifest = store::manifest_by_digest(&state.db, &Repo::of(&repo), &digest)
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
        .ok_or_else(|| {
            CoreError::field(
                "digest",
                format!("No manifest with the digest '{digest}' in the repository."),
            )
        })?;
    let args =
        json!({"repository_id": id, "content_ids": [manifest.content_id], "recursive": true});
    run(
        &state,
        &user,
        &cid,
        &repo,
        (REMOVE_TASK, REMOVE_HANDLER),
        args,
    )
    .await
}

async fn sync(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: ContainerRepositorySyncURL = fields.parse()?;
    if body.signed_only == Some(true) {
        return Err(
            CoreError::field("signed_only", "Signature verification is not supported.").into(),
        );
    }
    let repo = find::<Container>(&state, &id).await?;
    let remote_id = sync_remote::<Container>(&state, &repo, body.remote.as_deref()).await?;
    let d = Dispatch::new(
        SYNC_TASK,
        SYNC_HANDLER,
        json!({"repository_id": id, "remote_id": remote_id, "mirror": body.mirror.unwrap_or(false)}),
    )
    .exclusive(vec![repo.prn()])
    .shared(vec![Kind::ContainerRemote.prn(&remote_id)])
    .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

pub fn openapi(doc: &mut ApiDoc) {
    let tag_req = doc.schema::<TagImage>();
    let untag_req = doc.schema::<UnTagImage>();
    let manage = doc.schema::<RecursiveManage>();
    let sync_req = doc.schema::<ContainerRepositorySyncURL>();
    let remove_image = doc.schema::<RemoveImage>();
    action::<Container>(doc, "tag", "Create a Tag", tag_req.clone());
    action::<Container>(doc, "untag", "Delete a tag", untag_req.clone());
    action::<Container>(doc, "add", "Add content", manage.clone());
    action::<Container>(doc, "remove", "Remove content", manage);
    action::<Container>(doc, "sync", "Sync from a remote", sync_req);
    action::<ContainerPush>(doc, "tag", "Create a Tag", tag_req);
    action::<ContainerPush>(doc, "untag", "Delete a tag", untag_req);
    action::<ContainerPush>(
        doc,
        "remove_image",
        "Delete an image from a repository",
        remove_image,
    );
}

//! The container repository actions: `tag/`, `untag/`, `add/`, `remove/`, `copy_tags/`,
//! `copy_manifests/` and `sync/` on container repositories; `tag/`, `untag/` and
//! `remove_image/` on push repositories.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use depot_core::CoreError;
use depot_core::hrefs::Kind;
use depot_core::models::repository::{self, Repository};
use depot_core::models::version;
use depot_core::tasks::args::RemoteSync;
use depot_core::tasks::{Dispatch, TaskArgs};
use depot_http::openapi::ApiDoc;
use depot_http::plugin_api::RepositoryType;
use depot_http::plugin_api::repository::{action, content_ids, dispatch_sync, find, sync_remote};
use depot_http::{ApiResult, AppState, Authenticated, CorrelationId, Fields, dispatched};
use schemars::JsonSchema;
use serde::Deserialize;

use super::repositories::{PushRepositories, Repositories};
use crate::plugin::{Add, Remove, Sync};
use crate::store::{self, Repo};
use crate::{Digest, manifest, names};

pub const SYNC_TASK: &str = "pulp_container.app.tasks.synchronize";
const TAG_TASK: &str = "pulp_container.app.tasks.tag_image";
const UNTAG_TASK: &str = "pulp_container.app.tasks.untag_image";
const ADD_TASK: &str = "pulp_container.app.tasks.recursive_add_content";
const REMOVE_TASK: &str = "pulp_container.app.tasks.recursive_remove_content";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{}{{id}}/tag/", Repositories::BASE),
            post(tag::<Repositories>),
        )
        .route(
            &format!("{}{{id}}/untag/", Repositories::BASE),
            post(untag::<Repositories>),
        )
        .route(&format!("{}{{id}}/add/", Repositories::BASE), post(add))
        .route(
            &format!("{}{{id}}/remove/", Repositories::BASE),
            post(remove),
        )
        .route(&format!("{}{{id}}/sync/", Repositories::BASE), post(sync))
        .route(
            &format!("{}{{id}}/copy_tags/", Repositories::BASE),
            post(copy_tags),
        )
        .route(
            &format!("{}{{id}}/copy_manifests/", Repositories::BASE),
            post(copy_manifests),
        )
        .route(
            &format!("{}{{id}}/tag/", PushRepositories::BASE),
            post(tag::<PushRepositories>),
        )
        .route(
            &format!("{}{{id}}/untag/", PushRepositories::BASE),
            post(untag::<PushRepositories>),
        )
        .route(
            &format!("{}{{id}}/remove_image/", PushRepositories::BASE),
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

/// Tags to copy (all when `names` is absent), with what they need, from another repository.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagCopy {
    #[serde(default)]
    pub source_repository: Option<String>,
    #[serde(default)]
    pub source_repository_version: Option<String>,
    #[serde(default)]
    pub names: Option<Vec<String>>,
}

/// Manifests to copy (all when no filter is given), with what they need, from another
/// repository.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestCopy {
    #[serde(default)]
    pub source_repository: Option<String>,
    #[serde(default)]
    pub source_repository_version: Option<String>,
    #[serde(default)]
    pub digests: Option<Vec<String>>,
    #[serde(default)]
    pub media_types: Option<Vec<String>>,
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

/// The content id of the manifest `digest` in the repository's latest version (or pending).
async fn manifest_in(state: &AppState, repo: &Repository, digest: &Digest) -> ApiResult<String> {
    let found = store::manifest_by_digest(&state.db, &Repo::of(repo), digest)
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    match found {
        Some(m) => Ok(m.content_id),
        None => Err(CoreError::invalid(format!(
            "A manifest with the digest '{digest}' does not exist in the latest repository version."
        ))
        .into()),
    }
}

/// Dispatches a container task that holds the repository.
async fn run(
    state: &AppState,
    user: &depot_core::users::User,
    cid: &CorrelationId,
    repo: &Repository,
    name: &'static str,
    args: impl TaskArgs,
) -> ApiResult<Response> {
    let d = Dispatch::new(name, &args)
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
    let manifest_id = manifest_in(&state, &repo, &digest).await?;
    let args = Add {
        repository_id: id,
        tag: Some(body.tag),
        manifest_id: Some(manifest_id),
        content_ids: Vec::new(),
    };
    run(&state, &user, &cid, &repo, TAG_TASK, args).await
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
    let args = Remove {
        repository_id: id,
        content_ids: vec![tag],
        ..Remove::default()
    };
    run(&state, &user, &cid, &repo, UNTAG_TASK, args).await
}

async fn add(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: RecursiveManage = fields.parse()?;
    let repo = find::<Repositories>(&state, &id).await?;
    let hrefs = body.content_units.unwrap_or_default();
    let ids = content_ids::<Repositories>(&state, "content_units", hrefs).await?;
    let args = Add {
        repository_id: id,
        content_ids: ids,
        ..Add::default()
    };
    run(&state, &user, &cid, &repo, ADD_TASK, args).await
}

async fn remove(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: RecursiveManage = fields.parse()?;
    let repo = find::<Repositories>(&state, &id).await?;
    let hrefs = body.content_units.unwrap_or_default();
    let args = if hrefs.iter().any(|h| h == "*") {
        Remove {
            repository_id: id,
            content_ids: Vec::new(),
            all: true,
            recursive: true,
        }
    } else {
        let ids = content_ids::<Repositories>(&state, "content_units", hrefs).await?;
        Remove {
            repository_id: id,
            content_ids: ids,
            all: false,
            recursive: true,
        }
    };
    run(&state, &user, &cid, &repo, REMOVE_TASK, args).await
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
    let repo = find::<PushRepositories>(&state, &id).await?;
    let manifest_id = manifest_in(&state, &repo, &digest).await?;
    let args = Remove {
        repository_id: id,
        content_ids: vec![manifest_id],
        all: false,
        recursive: true,
    };
    run(&state, &user, &cid, &repo, REMOVE_TASK, args).await
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
    let repo = find::<Repositories>(&state, &id).await?;
    let remote_id = sync_remote::<Repositories>(&state, &repo, body.remote.as_deref()).await?;
    let args = Sync(RemoteSync {
        repository_id: id,
        remote_id: remote_id.clone(),
        mirror: body.mirror.unwrap_or(false),
    });
    dispatch_sync::<Repositories>(&state, (&user, &cid), &repo, &remote_id, SYNC_TASK, args).await
}

/// The version a copy reads: a container repository's latest, or the version given.
async fn copy_source(
    state: &AppState,
    repository: Option<&str>,
    version: Option<&str>,
) -> ApiResult<(Repository, i64)> {
    match (repository, version) {
        (None, None) => Err(CoreError::invalid(
            "Either the 'repository' or 'repository_version' needs to be specified",
        )
        .into()),
        (Some(_), Some(_)) => Err(CoreError::invalid(
            "Either the 'repository' or 'repository_version' need to be specified but not both.",
        )
        .into()),
        (Some(h), None) => {
            let field = "source_repository";
            let id = depot_core::hrefs::resolve(Repositories::KIND, field, h)?;
            let repo = find::<Repositories>(state, &id)
                .await
                .map_err(|_| depot_core::hrefs::missing(field, h))?;
            let n = repo.latest_number;
            Ok((repo, n))
        }
        (None, Some(h)) => {
            let field = "source_repository_version";
            let (id, n) = depot_core::hrefs::resolve_version(field, h)?;
            let repo = repository::get(&state.db, &id)
                .await
                .ok()
                .filter(|r| Repositories::CONTENT == content_kinds(r))
                .ok_or_else(|| depot_core::hrefs::missing(field, h))?;
            version::get(&state.db, &id, n)
                .await
                .map_err(|_| depot_core::hrefs::missing(field, h))?;
            Ok((repo, n))
        }
    }
}

/// The content types a repository holds.
fn content_kinds(repo: &Repository) -> &'static [Kind] {
    let container = [Repositories::KIND, PushRepositories::KIND];
    if container.contains(&repo.kind) {
        Repositories::CONTENT
    } else {
        &[]
    }
}

/// Adds `content_ids` (with what they need) to `repo`, reading `source` meanwhile.
async fn copy(
    state: &AppState,
    (user, cid): (&depot_core::users::User, &CorrelationId),
    repo: &Repository,
    source: &Repository,
    content_ids: Vec<String>,
) -> ApiResult<Response> {
    let args = Add {
        repository_id: repo.id.clone(),
        content_ids,
        ..Add::default()
    };
    let d = Dispatch::new(ADD_TASK, &args)
        .exclusive(vec![repo.prn()])
        .shared(vec![source.prn()])
        .requested_by(&user.id, &cid.0);
    dispatched(state, d).await
}

async fn copy_tags(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: TagCopy = fields.parse()?;
    let repo = find::<Repositories>(&state, &id).await?;
    let (source, n) = copy_source(
        &state,
        body.source_repository.as_deref(),
        body.source_repository_version.as_deref(),
    )
    .await?;
    let tags = store::tags_in_version(&state.db, &source.id, n, body.names.as_deref()).await?;
    copy(&state, (&user, &cid), &repo, &source, tags).await
}

/// The manifest media types a copy may filter on.
const MEDIA_TYPES: &[&str] = &[
    manifest::DOCKER_SCHEMA1,
    manifest::DOCKER_MANIFEST,
    manifest::DOCKER_LIST,
    manifest::OCI_MANIFEST,
    manifest::OCI_INDEX,
];

async fn copy_manifests(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: ManifestCopy = fields.parse()?;
    if let Some(bad) = body
        .media_types
        .iter()
        .flatten()
        .find(|t| !MEDIA_TYPES.contains(&t.as_str()))
    {
        return Err(
            CoreError::field("media_types", format!("\"{bad}\" is not a valid choice.")).into(),
        );
    }
    let repo = find::<Repositories>(&state, &id).await?;
    let (source, n) = copy_source(
        &state,
        body.source_repository.as_deref(),
        body.source_repository_version.as_deref(),
    )
    .await?;
    let manifests = store::manifests_in_version(
        &state.db,
        &source.id,
        n,
        body.digests.as_deref(),
        body.media_types.as_deref(),
    )
    .await?;
    copy(&state, (&user, &cid), &repo, &source, manifests).await
}

pub fn openapi(doc: &mut ApiDoc) {
    let tag_req = doc.schema::<TagImage>();
    let untag_req = doc.schema::<UnTagImage>();
    let manage = doc.schema::<RecursiveManage>();
    let sync_req = doc.schema::<ContainerRepositorySyncURL>();
    let remove_image = doc.schema::<RemoveImage>();
    action::<Repositories>(doc, "tag", "Create a Tag", tag_req.clone());
    action::<Repositories>(doc, "untag", "Delete a tag", untag_req.clone());
    action::<Repositories>(doc, "add", "Add content", manage.clone());
    action::<Repositories>(doc, "remove", "Remove content", manage);
    action::<Repositories>(doc, "sync", "Sync from a remote", sync_req);
    let tag_copy = doc.schema::<TagCopy>();
    action::<Repositories>(doc, "copy_tags", "Copy tags", tag_copy);
    let manifest_copy = doc.schema::<ManifestCopy>();
    action::<Repositories>(doc, "copy_manifests", "Copy manifests", manifest_copy);
    action::<PushRepositories>(doc, "tag", "Create a Tag", tag_req);
    action::<PushRepositories>(doc, "untag", "Delete a tag", untag_req);
    action::<PushRepositories>(
        doc,
        "remove_image",
        "Delete an image from a repository",
        remove_image,
    );
}

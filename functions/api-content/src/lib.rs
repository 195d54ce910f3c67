//! `content/file/files/`: file content. Creating content stores the bytes as an artifact (or
//! uses a given artifact or upload) and runs a task that makes the content unit and, when a
//! repository is named, a new repository version. `content/container/...`: read-only lists of
//! container manifests, blobs and tags (module `container`).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use depot_core::artifacts::{Expected, ingest_staged};
use depot_core::hrefs::{Kind, parse_version_href};
use depot_core::models::list::{Bind, Filter, InVersion, ListQuery};
use depot_core::models::{Labels, artifact, repository, upload, version};
use depot_core::tasks::args::ContentCreate;
use depot_core::tasks::{Dispatch, TaskArgs};
use depot_core::{CoreError, CoreResult};
use depot_file::content::{self, FileContent, FileContentResponse, validate_relative_path};
use depot_http::body::FileField;
use depot_http::list::{href_filters, name_filters, page_response};
use depot_http::openapi::{self, ApiDoc, MULTIPART_FORM, Op};
use depot_http::{
    ApiResult, AppState, Authenticated, CorrelationId, Fields, ListParams, QueryMap, created,
    dispatched, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

mod container;
mod python;

const BASE: &str = "/pulp/api/v3/content/file/files/";

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(container::router())
        .merge(python::router())
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}upload/"), post(upload_sync))
        .route(&format!("{BASE}{{id}}/"), get(read))
        .merge(depot_http::labels::routes(
            BASE,
            depot_core::labels::Labeled::Content,
        ))
}

/// File content to create from exactly one of `file`, `upload` or `artifact`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileContentCreate {
    /// Path where the file is located relative to the distribution's base path.
    pub relative_path: String,
    #[serde(default)]
    pub file: FileField,
    pub upload: Option<String>,
    pub artifact: Option<String>,
    /// A URL to download the file from.
    pub file_url: Option<String>,
    /// A repository to add the new content to.
    pub repository: Option<String>,
    pub overwrite: Option<bool>,
    pub pulp_labels: Option<Labels>,
}

/// A file to store as content at once, without a task.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileContentUpload {
    pub relative_path: String,
    #[serde(default)]
    pub file: FileField,
    pub overwrite: Option<bool>,
    pub pulp_labels: Option<Labels>,
}

pub(crate) fn labels(l: Option<Labels>) -> CoreResult<Labels> {
    match l {
        Some(l) => depot_core::labels::validate(&Value::Object(l)),
        None => Ok(Labels::new()),
    }
}

async fn create(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    mut fields: Fields,
) -> ApiResult<Response> {
    let file = fields.take_file("file");
    let body: FileContentCreate = fields.parse()?;
    validate_relative_path(&body.relative_path)?;
    let request = CreateRequest {
        repository_kind: &depot_file::REPOSITORY,
        relative_path: body.relative_path,
        upload: body.upload,
        artifact: body.artifact,
        file_url: body.file_url,
        repository: body.repository,
        overwrite: body.overwrite.unwrap_or(true),
        pulp_labels: labels(body.pulp_labels)?,
    };
    dispatch_create(
        &state,
        (&user.id, &cid.0),
        file,
        request,
        depot_file::Create,
    )
    .await
}

/// Content to make (as a task) from exactly one of a file, an upload, an artifact or a URL.
pub(crate) struct CreateRequest {
    pub repository_kind: Kind,
    pub relative_path: String,
    pub upload: Option<String>,
    pub artifact: Option<String>,
    pub file_url: Option<String>,
    pub repository: Option<String>,
    pub overwrite: bool,
    pub pulp_labels: Labels,
}

/// Checks where the bytes come from and dispatches the plugin's content-create task `A`.
pub(crate) async fn dispatch_create<A: TaskArgs>(
    state: &AppState,
    (user_id, cid): (&str, &str),
    file: Option<depot_http::body::FilePart>,
    body: CreateRequest,
    task: fn(ContentCreate) -> A,
) -> ApiResult<Response> {
    let sources = file.is_some() as u8
        + body.upload.is_some() as u8
        + body.artifact.is_some() as u8
        + body.file_url.is_some() as u8;
    if sources != 1 {
        return Err(CoreError::invalid(
            "Exactly one of 'file', 'upload', 'artifact' or 'file_url' must be given.",
        )
        .into());
    }
    if let Some(url) = &body.file_url {
        depot_core::models::remote::validate_url(url)
            .map_err(|_| CoreError::field("file_url", "Enter a valid URL."))?;
    }
    let repo = match body.repository.as_deref() {
        Some(h) => {
            let id = depot_core::hrefs::resolve(body.repository_kind, "repository", h)?;
            Some(
                repository::get(&state.db, &id)
                    .await
                    .map_err(|_| depot_core::hrefs::missing("repository", h))?,
            )
        }
        None => None,
    };
    let (artifact_id, upload_id) = if let Some(f) = file {
        let a = ingest_staged(state, f.staged, f.digests, &Expected::default()).await?;
        (Some(a.id), None)
    } else if let Some(h) = &body.upload {
        let id = depot_core::hrefs::resolve(&depot_core::hrefs::UPLOAD, "upload", h)?;
        upload::get(&state.db, &id)
            .await
            .map_err(|_| depot_core::hrefs::missing("upload", h))?;
        (None, Some(id))
    } else if body.file_url.is_some() {
        (None, None)
    } else {
        let h = body.artifact.as_deref().unwrap_or_default();
        let id = depot_core::hrefs::resolve(&depot_core::hrefs::ARTIFACT, "artifact", h)?;
        artifact::get(&state.db, &id)
            .await
            .map_err(|_| depot_core::hrefs::missing("artifact", h))?;
        (Some(id), None)
    };
    let held = repo.as_ref().map(|r| r.prn()).into_iter().chain(
        upload_id
            .as_deref()
            .map(|u| depot_core::hrefs::UPLOAD.prn(u)),
    );
    let args = task(ContentCreate {
        relative_path: body.relative_path,
        artifact_id,
        upload_id,
        file_url: body.file_url,
        repository_id: repo.as_ref().map(|r| r.id.clone()),
        pulp_labels: body.pulp_labels,
        overwrite: body.overwrite,
    });
    let d = Dispatch::new("pulpcore.app.tasks.base.general_create", &args)
        .exclusive(held.collect::<Vec<_>>())
        .immediate()
        .requested_by(user_id, cid);
    dispatched(state, d).await
}

async fn upload_sync(
    State(state): State<AppState>,
    _: Authenticated,
    mut fields: Fields,
) -> ApiResult<Response> {
    let file = fields.take_file("file");
    let body: FileContentUpload = fields.parse()?;
    validate_relative_path(&body.relative_path)?;
    let pulp_labels = labels(body.pulp_labels)?;
    let f = file.ok_or_else(|| CoreError::field("file", "No file was submitted."))?;
    let a = ingest_staged(&state, f.staged, f.digests, &Expected::default()).await?;
    let c = content::get_or_create_with_artifact(&state.db, &body.relative_path, &a, &pulp_labels)
        .await?;
    Ok(created(&c.response()))
}

/// Resolves a version href filter into (repository id, number), or a 400.
fn version_filter(param: &str, href: &str) -> ApiResult<(String, i64)> {
    parse_version_href(href).ok_or_else(|| {
        CoreError::field(param, format!("Invalid repository version href: {href}")).into()
    })
}

/// Adds the `repository_version`, `repository_version_added` and `repository_version_removed`
/// filters on content (the list's `id` field).
pub(crate) async fn repository_version_filters(
    state: &AppState,
    q: &mut ListQuery,
    query: &QueryMap,
) -> ApiResult<()> {
    if let Some(h) = query.get("repository_version") {
        let (repo, n) = version_filter("repository_version", h)?;
        version::get(&state.db, &repo, n).await?;
        q.with(Filter::Version("id", InVersion::Present, repo, n))?;
    }
    for (param, how) in [
        ("repository_version_added", InVersion::Added),
        ("repository_version_removed", InVersion::Removed),
    ] {
        if let Some(h) = query.get(param) {
            let (repo, n) = version_filter(param, h)?;
            q.with(Filter::Version("id", how, repo, n))?;
        }
    }
    Ok(())
}

async fn list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&content::TABLE);
    name_filters(&mut q, &query, "relative_path")?;
    href_filters(&mut q, &query, &depot_file::CONTENT)?;
    if let Some(v) = query.get("sha256").or(query.get("digest")) {
        q.with(Filter::Is("sha256", Bind::Text(v.to_ascii_lowercase())))?;
    }
    repository_version_filters(&state, &mut q, &query).await?;
    let orderings = ["relative_path", "pulp_created", "pulp_last_updated", "pk"];
    params.order(&mut q, &orderings, &[("pulp_created", true), ("pk", true)])?;
    page_response(&state, &q, &params, &query, Some("pulp_labels"), |r| {
        FileContent::from_row(r).map(|c| c.response())
    })
    .await
}

async fn read(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let c = content::get(&state.db, &id).await?;
    shaped(&query, &c.response())
}

pub fn openapi(doc: &mut ApiDoc) {
    container::openapi(doc);
    python::openapi(doc);
    let resp = doc.schema::<FileContentResponse>();
    let page = doc.paginated::<FileContentResponse>();
    let req = doc.schema::<FileContentCreate>();
    let upload = doc.schema::<FileContentUpload>();
    let async_op = doc.schema::<depot_core::models::AsyncOperationResponse>();
    let tag = "Content: Files";
    let filters = openapi::list_filters(
        &[
            "relative_path",
            "relative_path__contains",
            "relative_path__icontains",
            "relative_path__startswith",
            "sha256",
            "digest",
            "repository_version",
            "repository_version_added",
            "repository_version_removed",
            "pulp_label_select",
        ],
        &[
            "relative_path__in",
            "pulp_href__in",
            "prn__in",
            "pulp_id__in",
        ],
    );
    doc.add(
        Op::new("get", BASE, "content_file_files_list", tag)
            .params(filters)
            .response(200, Some(page)),
    );
    doc.add(
        Op::new("post", BASE, "content_file_files_create", tag)
            .summary("Create file content")
            .body(req, MULTIPART_FORM)
            .response(202, Some(async_op)),
    );
    doc.add(
        Op::new(
            "post",
            format!("{BASE}upload/"),
            "content_file_files_upload",
            tag,
        )
        .body(upload, MULTIPART_FORM)
        .response(201, Some(resp.clone())),
    );
    doc.add(
        Op::new(
            "get",
            "{file_file_content_href}",
            "content_file_files_read",
            tag,
        )
        .param(openapi::href_param("file_file_content_href"))
        .params(openapi::field_params())
        .response(200, Some(resp)),
    );
    depot_http::labels::openapi(
        doc,
        "file_file_content_href",
        "content_file_files",
        "Content: Files",
    );
}

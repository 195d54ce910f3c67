//! `content/file/files/`: file content. Creating content stores the bytes as an artifact (or
//! uses a given artifact or upload) and runs a task that makes the content unit and, when a
//! repository is named, a new repository version.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use depot_core::CoreError;
use depot_core::artifacts::{Expected, ingest_staged};
use depot_core::models::Labels;
use depot_core::models::list::{Bind, Filter, ListQuery};
use depot_http::body::FileField;
use depot_http::list::{href_filters, name_filters, page_response};
use depot_http::openapi::{self, ApiDoc, MULTIPART_FORM, Op};
use depot_http::plugin_api::content::{
    CreateRequest, VERSION_FILTERS, create_request, creating, dispatch_create, labels, listing,
    reading, repository_version_filters,
};
use depot_http::{
    ApiResult, AppState, Caller, CorrelationId, Fields, ListParams, QueryMap, created, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::content::{self, FileContent, FileContentResponse, validate_relative_path};

const BASE: &str = "/pulp/api/v3/content/file/files/";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}upload/"), post(upload_sync))
        .route(&format!("{BASE}{{id}}/"), get(read))
        .merge(depot_http::labels::routes(
            BASE,
            depot_core::labels::Labeled::Content,
            &crate::CONTENT,
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
    /// Connection settings for `file_url`, as a remote has them (`total_timeout`, `headers`,
    /// `username`, ...).
    pub downloader_config: Option<serde_json::Map<String, serde_json::Value>>,
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

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    mut fields: Fields,
) -> ApiResult<Response> {
    let request = create_request(&fields);
    creating(&state, &caller, &crate::CONTENT, request).await?;
    let user = &caller.user;
    let file = fields.take_file("file");
    let body: FileContentCreate = fields.parse()?;
    validate_relative_path(&body.relative_path)?;
    let request = CreateRequest {
        repository_kind: &crate::REPOSITORY,
        relative_path: body.relative_path,
        upload: body.upload,
        artifact: body.artifact,
        file_url: body.file_url,
        repository: body.repository,
        overwrite: body.overwrite.unwrap_or(true),
        pulp_labels: labels(body.pulp_labels)?,
        downloader_config: body.downloader_config,
    };
    dispatch_create(&state, (&user.id, &cid.0), file, request, crate::Create).await
}

async fn upload_sync(
    State(state): State<AppState>,
    caller: Caller,
    mut fields: Fields,
) -> ApiResult<Response> {
    caller.may_in(&state, BASE, "upload", vec![]).await?;
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

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&content::TABLE);
    listing(&state, &caller, &crate::CONTENT, &mut q).await?;
    name_filters(&mut q, &query, "relative_path")?;
    href_filters(&mut q, &query, &crate::CONTENT)?;
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
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let c = content::get(&state.db, &id).await?;
    reading(&state, &caller, &crate::CONTENT, &content::TABLE, &id).await?;
    shaped(&query, &c.response())
}

pub fn openapi(doc: &mut ApiDoc) {
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
            "pulp_label_select",
        ]
        .iter()
        .chain(&VERSION_FILTERS)
        .copied()
        .collect::<Vec<_>>(),
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

//! `uploads/`: chunked uploads (`PUT` with `Content-Range`) and their commit into an artifact.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use depot_core::CoreError;
use depot_core::access::Object;
use depot_core::checksums::{Algorithm, is_hex_digest};
use depot_core::hrefs::UPLOAD;
use depot_core::models::list::ListQuery;
use depot_core::models::upload::{self, UploadChunkResponse, UploadDetailResponse, UploadResponse};
use depot_core::tasks::Dispatch;
use depot_core::tasks::args;
use depot_http::body::FileField;
use depot_http::list::{fetch_page, scoped};
use depot_http::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, MULTIPART_FORM, Op};
use depot_http::{
    ApiResult, AppState, Caller, CorrelationId, Fields, ListParams, QueryMap, created, dispatched,
    no_content, ok,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

const BASE: &str = "/pulp/api/v3/uploads/";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(
            &format!("{BASE}{{id}}/"),
            get(read).put(put_chunk).delete(delete),
        )
        .route(&format!("{BASE}{{id}}/commit/"), post(commit))
        .merge(depot_http::object_roles::routes(BASE, &UPLOAD))
}

/// Upload `id`, on which the caller may do `action`: not found unless they may see it,
/// forbidden unless the uploads' policy allows it.
async fn allowed(
    state: &AppState,
    caller: &Caller,
    id: &str,
    action: &str,
) -> ApiResult<upload::Upload> {
    let u = upload::get(&state.db, id).await?;
    caller
        .may(state, BASE, (&UPLOAD, id), action, vec![])
        .await?;
    Ok(u)
}

/// A new chunked upload of `size` bytes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    pub size: i64,
}

/// One chunk; its place comes from the `Content-Range` header.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadChunk {
    #[serde(default)]
    pub file: FileField,
    pub sha256: Option<String>,
}

/// The sha256 of the whole upload.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadCommit {
    pub sha256: String,
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    fields: Fields,
) -> ApiResult<Response> {
    caller.may_in(&state, BASE, "create", vec![]).await?;
    let body: Upload = fields.parse()?;
    let u = upload::create(&state.db, body.size).await?;
    caller.created(&state, &Object::new(&UPLOAD, &u.id)).await?;
    Ok(created(&u.response()))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    caller.may_in(&state, BASE, "list", vec![]).await?;
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&upload::TABLE);
    scoped(&mut q, caller.scope(&state, &UPLOAD).await?)?;
    q.order("pulp_created", true)?;
    let (count, rows) = fetch_page(&state, &q, &params, &query, None).await?;
    let mut results = Vec::new();
    for r in rows {
        let id = upload::id_of(&r)?;
        results.push(
            serde_json::to_value(upload::get(&state.db, &id).await?.response()).unwrap_or_default(),
        );
    }
    Ok(ok(&params.page(&query, count, results)))
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let u = allowed(&state, &caller, &id, "retrieve").await?;
    let chunks = upload::chunks(&state.db, &id)
        .await?
        .into_iter()
        .map(|(offset, size, _)| UploadChunkResponse { offset, size })
        .collect();
    Ok(ok(&u.detail(chunks)))
}

async fn put_chunk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    mut fields: Fields,
) -> ApiResult<Response> {
    let u = allowed(&state, &caller, &id, "update").await?;
    let file = fields.take_file("file");
    let body: UploadChunk = fields.parse()?;
    let file = file.ok_or_else(|| CoreError::field("file", "No file was submitted."))?;
    let range = headers
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| CoreError::invalid("Missing 'Content-Range' header."))?;
    let range = depot_http::content_range::parse(range, true).ok_or_else(|| {
        CoreError::invalid("Invalid 'Content-Range' header: bytes <start>-<end>/<size or *>.")
    })?;
    let (start, end) = (range.start as i64, range.end as i64);
    if end >= u.size || range.total.is_some_and(|t| t as i64 != u.size) {
        return Err(CoreError::invalid(
            "The chunk does not fit: 'Content-Range' goes past the size of the upload.",
        )
        .into());
    }
    if file.digests.size != range.size() {
        return Err(CoreError::invalid(
            "The chunk size does not match the 'Content-Range' header.",
        )
        .into());
    }
    if let Some(sha) = body.sha256 {
        let sha = sha.to_ascii_lowercase();
        if !is_hex_digest(Algorithm::Sha256, &sha) || sha != file.digests.sha256 {
            return Err(CoreError::invalid("Checksum does not match chunk upload.").into());
        }
    }
    let key = format!("upload/{id}/{start}-{}", uuid_suffix());
    file.staged.commit(&key).await.map_err(CoreError::from)?;
    upload::put_chunk(&state, &u, start, range.size() as i64, &key).await?;
    Ok(ok(&upload::get(&state.db, &id).await?.response()))
}

fn uuid_suffix() -> String {
    depot_core::new_id()
}

async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    allowed(&state, &caller, &id, "destroy").await?;
    upload::delete(&state, &id).await?;
    Ok(no_content())
}

async fn commit(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    allowed(&state, &caller, &id, "commit").await?;
    let user = &caller.user;
    let body: UploadCommit = fields.parse()?;
    let sha = body.sha256.to_ascii_lowercase();
    if !is_hex_digest(Algorithm::Sha256, &sha) {
        return Err(CoreError::field("sha256", "Invalid sha256 digest.").into());
    }
    let args = args::UploadCommit {
        upload_id: id.clone(),
        sha256: Some(sha),
    };
    let d = Dispatch::new("pulpcore.app.tasks.upload.commit", &args)
        .exclusive(vec![depot_core::hrefs::UPLOAD.prn(&id)])
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<UploadResponse>();
    let detail = doc.schema::<UploadDetailResponse>();
    let page = doc.paginated::<UploadResponse>();
    let req = doc.schema::<Upload>();
    let chunk = doc.schema::<UploadChunk>();
    let commit = doc.schema::<UploadCommit>();
    let async_op = doc.schema::<depot_core::models::AsyncOperationResponse>();
    let p = || openapi::href_param("upload_href");
    let range = json!({"name": "Content-Range", "in": "header", "required": true, "schema": {"type": "string"},
                       "description": "The Content-Range header specifies the location of the file chunk within the file."});
    doc.add(
        Op::new("get", BASE, "uploads_list", "Uploads")
            .params(openapi::list_params())
            .response(200, Some(page)),
    );
    doc.add(
        Op::new("post", BASE, "uploads_create", "Uploads")
            .body(req, JSON_FORM_MULTIPART)
            .response(201, Some(resp.clone())),
    );
    doc.add(
        Op::new("get", "{upload_href}", "uploads_read", "Uploads")
            .param(p())
            .params(openapi::field_params())
            .response(200, Some(detail)),
    );
    doc.add(
        Op::new("put", "{upload_href}", "uploads_update", "Uploads")
            .param(p())
            .param(range)
            .body(chunk, MULTIPART_FORM)
            .response(200, Some(resp)),
    );
    doc.add(
        Op::new("delete", "{upload_href}", "uploads_delete", "Uploads")
            .param(p())
            .response(204, None),
    );
    doc.add(
        Op::new("post", "{upload_href}commit/", "uploads_commit", "Uploads")
            .param(p())
            .body(commit, JSON_FORM_MULTIPART)
            .response(202, Some(async_op)),
    );
    depot_http::object_roles::openapi(doc, "upload_href", "uploads", "Uploads");
}

//! `repositories/file/file/`: file repositories, their versions, and the `sync/`, `modify/`,
//! `set_label/` and `unset_label/` actions.

mod versions;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use depot_core::hrefs::Kind;
use depot_core::labels::Labeled;
use depot_core::models::list::{Bind, ListQuery};
use depot_core::models::repository::{self, FileRepositoryResponse, NewRepository, Repository};
use depot_core::models::{Labels, content, remote};
use depot_core::tasks::{
    Dispatch, MODIFY_HANDLER, SYNC_HANDLER, TaskContext, TaskFuture, TaskRegistry,
};
use depot_core::{CoreError, CoreResult};
use depot_http::list::{fetch_page, href_filters, name_filters, to_values};
use depot_http::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};
use depot_http::{
    ApiResult, AppState, Authenticated, CorrelationId, Fields, ListParams, QueryMap, created,
    dispatched, ok, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

const BASE: &str = "/pulp/api/v3/repositories/file/file/";

pub const SYNC_TASK: &str = "pulp_file.app.tasks.synchronizing.synchronize";
pub const MODIFY_TASK: &str = "pulpcore.app.tasks.repository.add_and_remove";
const UPDATE_HANDLER: &str = "repository.update";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(
            &format!("{BASE}{{id}}/"),
            get(read).patch(partial_update).put(update).delete(delete),
        )
        .route(&format!("{BASE}{{id}}/sync/"), post(sync))
        .route(&format!("{BASE}{{id}}/modify/"), post(modify))
        .merge(depot_http::labels::routes(BASE, Labeled::Repository))
        .merge(versions::router())
}

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(UPDATE_HANDLER, run_update);
    versions::register_tasks(reg);
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
    #[serde(default)]
    pub retain_repo_versions: Option<i64>,
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
    pub retain_repo_versions: Option<i64>,
    pub retain_checkpoints: Option<i64>,
    pub remote: Option<String>,
    pub autopublish: Option<bool>,
    pub manifest: Option<String>,
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

fn labels_or_empty(l: Option<Labels>) -> CoreResult<Labels> {
    match l {
        Some(l) => depot_core::labels::validate(&Value::Object(l)),
        None => Ok(Labels::new()),
    }
}

/// Resolves a remote href to its id, checking it exists.
async fn remote_id(state: &AppState, href: &str) -> CoreResult<String> {
    let id = depot_core::hrefs::resolve(Kind::FileRemote, "remote", href)?;
    remote::get(&state.db, &id)
        .await
        .map_err(|_| depot_core::hrefs::missing("remote", href))?;
    Ok(id)
}

async fn find(state: &AppState, id: &str) -> ApiResult<Repository> {
    Ok(repository::get_of_type(&state.db, id, "file.file").await?)
}

async fn create(
    State(state): State<AppState>,
    _: Authenticated,
    fields: Fields,
) -> ApiResult<Response> {
    let body: FileRepository = fields.parse()?;
    if body.name.is_empty() {
        return Err(CoreError::field("name", "This field may not be blank.").into());
    }
    let remote_id = match body.remote.as_deref() {
        Some(h) => Some(remote_id(&state, h).await?),
        None => None,
    };
    let repo = repository::create(
        &state.db,
        NewRepository {
            pulp_type: "file.file",
            name: body.name,
            description: body.description,
            pulp_labels: labels_or_empty(body.pulp_labels)?,
            retain_repo_versions: body.retain_repo_versions,
            retain_checkpoints: body.retain_checkpoints,
            remote_id,
            autopublish: body.autopublish.unwrap_or(false),
            manifest: Some(body.manifest.unwrap_or_else(|| "PULP_MANIFEST".into())),
        },
    )
    .await?;
    Ok(created(&repo.response()))
}

async fn list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::new(repository::COLUMNS, "repositories");
    q.filter("pulp_type = ?", vec![Bind::Text("file.file".into())]);
    name_filters(&mut q, &query, "name", "name");
    href_filters(&mut q, &query, Kind::FileRepository, "id");
    if let Some(r) = query.get("remote") {
        match Kind::FileRemote.parse_ref(r) {
            Some(id) => q.filter("remote_id = ?", vec![Bind::Text(id)]),
            None => q.filter("1 = 0", vec![]),
        };
    }
    for o in params.order_sql(
        &[
            ("name", "name"),
            ("pulp_created", "created"),
            ("pulp_last_updated", "updated"),
            ("pk", "id"),
            ("pulp_id", "id"),
        ],
        "name ASC",
    )? {
        q.order_by(&o);
    }
    let (count, rows) = fetch_page(&state, &q, &params, &query, Some("pulp_labels")).await?;
    let results = to_values(&rows, |r| {
        Repository::from_row(r).map(|repo| repo.response())
    })?;
    Ok(ok(&params.page(&query, count, results)))
}

async fn read(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let repo = find(&state, &id).await?;
    shaped(&query, &repo.response())
}

async fn partial_update(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let (_, raw) = fields.parse_patch::<PatchedFileRepository>()?;
    apply_update(state, user, cid, id, raw).await
}

async fn update(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let (_, raw) = fields.parse_patch::<FileRepository>()?;
    if !raw.contains_key("name") {
        return Err(CoreError::field("name", "This field is required.").into());
    }
    apply_update(state, user, cid, id, raw).await
}

async fn apply_update(
    state: AppState,
    user: depot_core::users::User,
    cid: CorrelationId,
    id: String,
    mut raw: Map<String, Value>,
) -> ApiResult<Response> {
    let repo = find(&state, &id).await?;
    if let Some(Value::String(h)) = raw.get("remote").cloned() {
        let rid = remote_id(&state, &h).await?;
        raw.insert("remote".into(), json!(Kind::FileRemote.href(&rid)));
    }
    if let Some(l) = raw.get("pulp_labels") {
        depot_core::labels::validate(l)?;
    }
    if let Some(Value::String(n)) = raw.get("name")
        && n.is_empty()
    {
        return Err(CoreError::field("name", "This field may not be blank.").into());
    }
    let current = serde_json::to_value(repo.response()).unwrap_or_default();
    if raw.iter().all(|(k, v)| current.get(k) == Some(v)) {
        return Ok(ok(&repo.response()));
    }
    let d = Dispatch::new(
        "pulpcore.app.tasks.base.general_update",
        UPDATE_HANDLER,
        json!({"id": id, "changes": raw}),
    )
    .exclusive(vec![repo.prn()])
    .immediate()
    .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

fn run_update(ctx: TaskContext) -> TaskFuture {
    Box::pin(async move {
        #[derive(Deserialize)]
        struct Args {
            id: String,
            changes: Map<String, Value>,
        }
        let args: Args = ctx.args()?;
        repository::update(&ctx.core.db, &args.id, args.changes).await?;
        let repo = repository::get(&ctx.core.db, &args.id).await?;
        Ok(Some(
            serde_json::to_value(repo.response()).unwrap_or_default(),
        ))
    })
}

async fn delete(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    find(&state, &id).await?;
    let d = depot_core::tasks::general::delete_dispatch(Kind::FileRepository, &id)
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

async fn sync(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let body: FileRepositorySyncURL = fields.parse()?;
    let repo = find(&state, &id).await?;
    let remote_id = match body.remote.as_deref() {
        Some(h) => remote_id(&state, h).await?,
        None => repo.remote_id.clone().ok_or_else(|| {
            CoreError::field(
                "remote",
                "A remote must be specified, or the repository must have one.",
            )
        })?,
    };
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
    let repo = find(&state, &id).await?;
    let add = content_ids(
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
        content_ids(
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

/// Resolves content hrefs, refusing unknown ones.
async fn content_ids(state: &AppState, field: &str, hrefs: Vec<String>) -> CoreResult<Vec<String>> {
    let mut ids = Vec::with_capacity(hrefs.len());
    for h in hrefs {
        let id = depot_core::hrefs::resolve(Kind::FileContent, field, &h)?;
        content::get(&state.db, &id)
            .await
            .map_err(|_| depot_core::hrefs::missing(field, &h))?;
        ids.push(id);
    }
    Ok(ids)
}

/// Adds this family's operations to the OpenAPI document.
pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<FileRepositoryResponse>();
    let req = doc.schema::<FileRepository>();
    let patched = doc.schema::<PatchedFileRepository>();
    let page = doc.paginated::<FileRepositoryResponse>();
    let async_op = doc.schema::<depot_core::models::AsyncOperationResponse>();
    let sync_req = doc.schema::<FileRepositorySyncURL>();
    let modify_req = doc.schema::<RepositoryAddRemoveContent>();
    let href = "{file_file_repository_href}";
    let p = || openapi::href_param("file_file_repository_href");
    let tag = "Repositories: File";
    let filters = openapi::list_filters(
        &[
            "name",
            "name__contains",
            "name__icontains",
            "name__startswith",
            "name__iexact",
            "pulp_label_select",
            "remote",
        ],
        &["name__in", "pulp_href__in", "prn__in", "pulp_id__in"],
    );
    openapi::add_crud(
        doc,
        openapi::Crud {
            base: BASE,
            href_param: "file_file_repository_href",
            prefix: "repositories_file_file",
            tag,
            filters,
            page,
            request: req,
            patched,
            create: (201, resp.clone()),
            response: resp,
            async_op: async_op.clone(),
        },
    );
    doc.add(
        Op::new(
            "post",
            format!("{href}sync/"),
            "repositories_file_file_sync",
            tag,
        )
        .summary("Sync from a remote")
        .param(p())
        .body(sync_req, JSON_FORM_MULTIPART)
        .response(202, Some(async_op.clone())),
    );
    doc.add(
        Op::new(
            "post",
            format!("{href}modify/"),
            "repositories_file_file_modify",
            tag,
        )
        .summary("Modify repository content")
        .param(p())
        .body(modify_req, JSON_FORM_MULTIPART)
        .response(202, Some(async_op.clone())),
    );
    depot_http::labels::openapi(
        doc,
        "file_file_repository_href",
        "repositories_file_file",
        tag,
    );
    versions::openapi(doc, async_op);
}

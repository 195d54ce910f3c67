//! `distributions/file/file/`: where repositories, versions and publications are served.
//! Create, update and delete run as immediate tasks, as in Pulp.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::hrefs::Kind;
use depot_core::models::distribution::{
    self, Distribution, FileDistributionResponse, NewDistribution, Source,
};
use depot_core::models::list::{Bind, ListQuery};
use depot_core::models::{Labels, publication, repository, version};
use depot_core::tasks::{Dispatch, TaskContext, TaskFuture, TaskRegistry};
use depot_core::{CoreError, CoreResult};
use depot_http::list::{fetch_page, href_filters, name_filters};
use depot_http::openapi::{self, ApiDoc};
use depot_http::{
    ApiResult, AppState, Authenticated, CorrelationId, Fields, ListParams, QueryMap, dispatched,
    ok, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

const BASE: &str = "/pulp/api/v3/distributions/file/file/";
const CREATE_HANDLER: &str = "distribution.create";
const UPDATE_HANDLER: &str = "distribution.update";
/// Base paths are a shared namespace: every distribution change holds this resource.
const BASE_PATHS: &str = "pdrn:distribution-base-paths";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(
            &format!("{BASE}{{id}}/"),
            get(read).patch(partial_update).put(update).delete(delete),
        )
        .merge(depot_http::labels::routes(
            BASE,
            depot_core::labels::Labeled::Distribution,
        ))
}

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(CREATE_HANDLER, run_create);
    reg.register(UPDATE_HANDLER, run_update);
}

/// A file distribution serving at most one of repository, repository_version and publication.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileDistribution {
    pub name: String,
    pub base_path: String,
    pub content_guard: Option<String>,
    pub hidden: Option<bool>,
    pub pulp_labels: Option<Labels>,
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    pub publication: Option<String>,
    pub checkpoint: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchedFileDistribution {
    pub name: Option<String>,
    pub base_path: Option<String>,
    pub content_guard: Option<String>,
    pub hidden: Option<bool>,
    pub pulp_labels: Option<Labels>,
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    pub publication: Option<String>,
    pub checkpoint: Option<bool>,
}

/// Resolves the source fields present in `raw`; `None` when none of them was sent.
async fn resolve_source(state: &AppState, raw: &Map<String, Value>) -> CoreResult<Option<Source>> {
    let get = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_string);
    if !["repository", "repository_version", "publication"]
        .iter()
        .any(|k| raw.contains_key(*k))
    {
        return Ok(None);
    }
    let (repo, ver, publ) = (
        get("repository"),
        get("repository_version"),
        get("publication"),
    );
    if [&repo, &ver, &publ].iter().filter(|v| v.is_some()).count() > 1 {
        return Err(CoreError::invalid(
            "Only one of the attributes 'repository', 'repository_version' and 'publication' may be used simultaneously.",
        ));
    }
    let mut s = Source::default();
    if let Some(h) = repo {
        let id = depot_core::hrefs::resolve(Kind::FileRepository, "repository", &h)?;
        repository::get(&state.db, &id)
            .await
            .map_err(|_| depot_core::hrefs::missing("repository", h))?;
        s.repository_id = Some(id);
    }
    if let Some(h) = ver {
        let (repo, n) = depot_core::hrefs::resolve_version("repository_version", &h)?;
        let v = version::get(&state.db, &repo, n)
            .await
            .map_err(|_| depot_core::hrefs::missing("repository_version", h))?;
        s.repository_version_id = Some(v.id);
    }
    if let Some(h) = publ {
        let id = depot_core::hrefs::resolve(Kind::FilePublication, "publication", &h)?;
        publication::get(&state.db, &id)
            .await
            .map_err(|_| depot_core::hrefs::missing("publication", h))?;
        s.publication_id = Some(id);
    }
    Ok(Some(s))
}

async fn create(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    fields: Fields,
) -> ApiResult<Response> {
    let (body, raw) = fields.parse_full::<FileDistribution>()?;
    if body.content_guard.is_some() {
        return Err(
            CoreError::field("content_guard", "Content guards are not supported yet.").into(),
        );
    }
    distribution::precheck(&state.db, Some(&body.name), Some(&body.base_path), None).await?;
    if let Some(l) = &body.pulp_labels {
        depot_core::labels::validate(&Value::Object(l.clone()))?;
    }
    let source = resolve_source(&state, &raw).await?.unwrap_or_default();
    let args = json!({"name": body.name, "base_path": body.base_path, "hidden": body.hidden.unwrap_or(false),
                      "pulp_labels": body.pulp_labels.unwrap_or_default(), "checkpoint": body.checkpoint.unwrap_or(false),
                      "repository_id": source.repository_id, "repository_version_id": source.repository_version_id,
                      "publication_id": source.publication_id});
    let d = Dispatch::new(
        "pulpcore.app.tasks.base.general_create",
        CREATE_HANDLER,
        args,
    )
    .exclusive(vec![BASE_PATHS.into()])
    .immediate()
    .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

fn run_create(ctx: TaskContext) -> TaskFuture {
    Box::pin(async move {
        let a = &ctx.task.args;
        let s = |k: &str| a[k].as_str().map(str::to_string);
        let d = distribution::create(
            &ctx.core.db,
            NewDistribution {
                pulp_type: "file.file",
                name: s("name").unwrap_or_default(),
                base_path: s("base_path").unwrap_or_default(),
                pulp_labels: a["pulp_labels"].as_object().cloned().unwrap_or_default(),
                hidden: a["hidden"].as_bool().unwrap_or(false),
                checkpoint: a["checkpoint"].as_bool().unwrap_or(false),
                source: Source {
                    repository_id: s("repository_id"),
                    repository_version_id: s("repository_version_id"),
                    publication_id: s("publication_id"),
                },
            },
        )
        .await?;
        ctx.created(d.href());
        let resp = distribution::response(&ctx.core.db, &d, &ctx.core.settings).await?;
        Ok(Some(serde_json::to_value(resp).unwrap_or_default()))
    })
}

async fn list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::new(distribution::COLUMNS, "distributions");
    q.filter("pulp_type = ?", vec![Bind::Text("file.file".into())]);
    name_filters(&mut q, &query, "name", "name");
    name_filters(&mut q, &query, "base_path", "base_path");
    href_filters(&mut q, &query, Kind::FileDistribution, "id");
    if let Some(h) = query.get("repository") {
        q.filter(
            "repository_id = ?",
            vec![Bind::Text(
                Kind::FileRepository.parse_ref(h).unwrap_or_default(),
            )],
        );
    }
    for o in params.order_sql(
        &[
            ("name", "name"),
            ("base_path", "base_path"),
            ("pulp_created", "created"),
            ("pk", "id"),
        ],
        "name ASC",
    )? {
        q.order_by(&o);
    }
    let (count, rows) = fetch_page(&state, &q, &params, &query, Some("pulp_labels")).await?;
    let mut results = Vec::new();
    for r in &rows {
        let d = Distribution::from_row(r)?;
        results.push(
            serde_json::to_value(distribution::response(&state.db, &d, &state.settings).await?)
                .unwrap_or_default(),
        );
    }
    Ok(ok(&params.page(&query, count, results)))
}

async fn read(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let d = distribution::get_of_type(&state.db, &id, "file.file").await?;
    let resp = distribution::response(&state.db, &d, &state.settings).await?;
    shaped(&query, &resp)
}

async fn partial_update(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let (_, raw) = fields.parse_patch::<PatchedFileDistribution>()?;
    apply_update(state, user.id, cid.0, id, raw).await
}

async fn update(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let (_, raw) = fields.parse_full::<FileDistribution>()?;
    apply_update(state, user.id, cid.0, id, raw).await
}

async fn apply_update(
    state: AppState,
    user: String,
    cid: String,
    id: String,
    raw: Map<String, Value>,
) -> ApiResult<Response> {
    let d = distribution::get_of_type(&state.db, &id, "file.file").await?;
    distribution::precheck(
        &state.db,
        raw.get("name").and_then(Value::as_str),
        raw.get("base_path").and_then(Value::as_str),
        Some(&id),
    )
    .await?;
    if let Some(l) = raw.get("pulp_labels") {
        depot_core::labels::validate(l)?;
    }
    let source = resolve_source(&state, &raw).await?;
    let current =
        serde_json::to_value(distribution::response(&state.db, &d, &state.settings).await?)
            .unwrap_or_default();
    if raw.iter().all(|(k, v)| current.get(k) == Some(v)) {
        return Ok(ok(&current));
    }
    let args = json!({"id": id, "changes": raw, "source": source.map(|s| json!({
        "repository_id": s.repository_id, "repository_version_id": s.repository_version_id, "publication_id": s.publication_id}))});
    let d = Dispatch::new(
        "pulpcore.app.tasks.base.general_update",
        UPDATE_HANDLER,
        args,
    )
    .exclusive(vec![BASE_PATHS.into(), Kind::FileDistribution.prn(&id)])
    .immediate()
    .requested_by(&user, &cid);
    dispatched(&state, d).await
}

fn run_update(ctx: TaskContext) -> TaskFuture {
    Box::pin(async move {
        let a = &ctx.task.args;
        let id = a["id"].as_str().unwrap_or_default().to_string();
        let changes = a["changes"].as_object().cloned().unwrap_or_default();
        let source = a["source"].as_object().map(|s| Source {
            repository_id: s
                .get("repository_id")
                .and_then(Value::as_str)
                .map(str::to_string),
            repository_version_id: s
                .get("repository_version_id")
                .and_then(Value::as_str)
                .map(str::to_string),
            publication_id: s
                .get("publication_id")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
        distribution::update(&ctx.core.db, &id, changes, source).await?;
        let d = distribution::get(&ctx.core.db, &id).await?;
        Ok(Some(
            serde_json::to_value(
                distribution::response(&ctx.core.db, &d, &ctx.core.settings).await?,
            )
            .unwrap_or_default(),
        ))
    })
}

async fn delete(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    distribution::get_of_type(&state.db, &id, "file.file").await?;
    let d = depot_core::tasks::general::delete_dispatch(Kind::FileDistribution, &id)
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<FileDistributionResponse>();
    let async_op = doc.schema::<depot_core::models::AsyncOperationResponse>();
    let crud = openapi::Crud {
        base: BASE,
        href_param: "file_file_distribution_href",
        prefix: "distributions_file_file",
        tag: "Distributions: File",
        filters: openapi::list_filters(
            &[
                "name",
                "name__contains",
                "name__icontains",
                "name__startswith",
                "base_path",
                "base_path__contains",
                "base_path__icontains",
                "pulp_label_select",
                "repository",
            ],
            &[
                "name__in",
                "base_path__in",
                "pulp_href__in",
                "prn__in",
                "pulp_id__in",
            ],
        ),
        page: doc.paginated::<FileDistributionResponse>(),
        request: doc.schema::<FileDistribution>(),
        patched: doc.schema::<PatchedFileDistribution>(),
        create: (202, async_op.clone()),
        response: resp,
        async_op: async_op.clone(),
    };
    openapi::add_crud(doc, crud);
    depot_http::labels::openapi(
        doc,
        "file_file_distribution_href",
        "distributions_file_file",
        "Distributions: File",
    );
}

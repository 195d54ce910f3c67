//! `remotes/file/file/`: where file repositories sync from.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::CoreError;
use depot_core::hrefs::Kind;
use depot_core::models::Labels;
use depot_core::models::list::{Bind, ListQuery};
use depot_core::models::remote::{
    self, FileRemoteResponse, NewRemote, Policy, Remote, SETTING_FIELDS,
};
use depot_core::tasks::{Dispatch, TaskContext, TaskFuture, TaskRegistry};
use depot_http::list::{fetch_page, href_filters, name_filters, to_values};
use depot_http::openapi::{self, ApiDoc};
use depot_http::{
    ApiResult, AppState, Authenticated, CorrelationId, Fields, ListParams, QueryMap, created,
    dispatched, ok, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

const BASE: &str = "/pulp/api/v3/remotes/file/file/";
const UPDATE_HANDLER: &str = "remote.update";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(
            &format!("{BASE}{{id}}/"),
            get(read).patch(partial_update).put(update).delete(delete),
        )
        .merge(depot_http::labels::routes(
            BASE,
            depot_core::labels::Labeled::Remote,
        ))
}

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(UPDATE_HANDLER, run_update);
}

/// A file remote: `url` points at a PULP_MANIFEST.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRemote {
    pub name: String,
    pub url: String,
    pub pulp_labels: Option<Labels>,
    pub policy: Option<Policy>,
    pub ca_cert: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub tls_validation: Option<bool>,
    pub proxy_url: Option<String>,
    pub proxy_username: Option<String>,
    pub proxy_password: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub max_retries: Option<i64>,
    pub total_timeout: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub sock_connect_timeout: Option<f64>,
    pub sock_read_timeout: Option<f64>,
    pub headers: Option<Vec<Value>>,
    pub download_concurrency: Option<i64>,
    pub rate_limit: Option<i64>,
}

/// Fields to change on a file remote.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchedFileRemote {
    pub name: Option<String>,
    pub url: Option<String>,
    pub pulp_labels: Option<Labels>,
    pub policy: Option<Policy>,
    pub ca_cert: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub tls_validation: Option<bool>,
    pub proxy_url: Option<String>,
    pub proxy_username: Option<String>,
    pub proxy_password: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub max_retries: Option<i64>,
    pub total_timeout: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub sock_connect_timeout: Option<f64>,
    pub sock_read_timeout: Option<f64>,
    pub headers: Option<Vec<Value>>,
    pub download_concurrency: Option<i64>,
    pub rate_limit: Option<i64>,
}

async fn create(
    State(state): State<AppState>,
    _: Authenticated,
    fields: Fields,
) -> ApiResult<Response> {
    let (body, raw) = fields.parse_full::<FileRemote>()?;
    if body.name.is_empty() {
        return Err(CoreError::field("name", "This field may not be blank.").into());
    }
    let settings: Map<String, Value> = raw
        .into_iter()
        .filter(|(k, _)| SETTING_FIELDS.contains(&k.as_str()))
        .collect();
    let labels = match body.pulp_labels {
        Some(l) => depot_core::labels::validate(&Value::Object(l))?,
        None => Labels::new(),
    };
    let r = remote::create(
        &state.db,
        NewRemote {
            name: body.name,
            url: body.url,
            policy: body.policy.unwrap_or(Policy::Immediate),
            pulp_labels: labels,
            settings,
        },
    )
    .await?;
    Ok(created(&r.response()))
}

async fn list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::new(remote::COLUMNS, "remotes");
    q.filter("pulp_type = ?", vec![Bind::Text("file.file".into())]);
    name_filters(&mut q, &query, "name", "name");
    href_filters(&mut q, &query, Kind::FileRemote, "id");
    for o in params.order_sql(
        &[
            ("name", "name"),
            ("pulp_created", "created"),
            ("pulp_last_updated", "updated"),
            ("pk", "id"),
        ],
        "name ASC",
    )? {
        q.order_by(&o);
    }
    let (count, rows) = fetch_page(&state, &q, &params, &query, Some("pulp_labels")).await?;
    let results = to_values(&rows, |r| Remote::from_row(r).map(|x| x.response()))?;
    Ok(ok(&params.page(&query, count, results)))
}

async fn read(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let r = remote::get(&state.db, &id).await?;
    shaped(&query, &r.response())
}

async fn partial_update(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let (_, raw) = fields.parse_patch::<PatchedFileRemote>()?;
    apply_update(state, user, cid, id, raw).await
}

async fn update(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let (_, raw) = fields.parse_patch::<FileRemote>()?;
    for f in ["name", "url"] {
        if !raw.contains_key(f) {
            return Err(CoreError::field(f, "This field is required.").into());
        }
    }
    apply_update(state, user, cid, id, raw).await
}

async fn apply_update(
    state: AppState,
    user: depot_core::users::User,
    cid: CorrelationId,
    id: String,
    raw: Map<String, Value>,
) -> ApiResult<Response> {
    let r = remote::get(&state.db, &id).await?;
    // Validate now so that the client gets a 400 rather than a failed task.
    let mut check = r.settings.clone();
    check.extend(
        raw.iter()
            .filter(|(k, _)| SETTING_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    remote::validate_settings(&check)?;
    remote::check_client_settings(&check)?;
    if let Some(Value::String(u)) = raw.get("url") {
        remote::validate_url(u)?;
    }
    if let Some(l) = raw.get("pulp_labels") {
        depot_core::labels::validate(l)?;
    }
    let current = serde_json::to_value(r.response()).unwrap_or_default();
    let unchanged = raw.iter().all(|(k, v)| match current.get(k) {
        Some(c) => c == v,
        None => r.settings.get(k) == Some(v),
    });
    if unchanged {
        return Ok(ok(&r.response()));
    }
    let d = Dispatch::new(
        "pulpcore.app.tasks.base.general_update",
        UPDATE_HANDLER,
        json!({"id": id, "changes": raw}),
    )
    .exclusive(vec![Kind::FileRemote.prn(&id)])
    .immediate()
    .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

fn run_update(ctx: TaskContext) -> TaskFuture {
    Box::pin(async move {
        let id = ctx.task.args["id"].as_str().unwrap_or_default().to_string();
        let changes = ctx.task.args["changes"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        remote::update(&ctx.core.db, &id, changes).await?;
        let r = remote::get(&ctx.core.db, &id).await?;
        Ok(Some(serde_json::to_value(r.response()).unwrap_or_default()))
    })
}

async fn delete(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    remote::get(&state.db, &id).await?;
    let d = depot_core::tasks::general::delete_dispatch(Kind::FileRemote, &id)
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<FileRemoteResponse>();
    let async_op = doc.schema::<depot_core::models::AsyncOperationResponse>();
    let crud = openapi::Crud {
        base: BASE,
        href_param: "file_file_remote_href",
        prefix: "remotes_file_file",
        tag: "Remotes: File",
        filters: openapi::list_filters(
            &[
                "name",
                "name__contains",
                "name__icontains",
                "name__startswith",
                "name__iexact",
                "pulp_label_select",
            ],
            &["name__in", "pulp_href__in", "prn__in", "pulp_id__in"],
        ),
        page: doc.paginated::<FileRemoteResponse>(),
        request: doc.schema::<FileRemote>(),
        patched: doc.schema::<PatchedFileRemote>(),
        create: (201, resp.clone()),
        response: resp,
        async_op: async_op.clone(),
    };
    openapi::add_crud(doc, crud);
    depot_http::labels::openapi(
        doc,
        "file_file_remote_href",
        "remotes_file_file",
        "Remotes: File",
    );
}

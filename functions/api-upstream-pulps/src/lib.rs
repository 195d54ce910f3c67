//! Pulp's `upstream-pulps/`: the upstream Pulps a domain replicates (create, read, list,
//! update and delete answer at once, as Pulp's), their role actions, and `replicate/`, which
//! dispatches a replication in a new task group. The replication itself is
//! `depot_core::replication`'s; this function runs its tasks.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use depot_core::access::Object;
use depot_core::hrefs::{TASK_GROUP, UPSTREAM_PULP};
use depot_core::models::list::ListQuery;
use depot_core::models::upstream_pulp::{self, Policy, UpstreamPulp, UpstreamPulpResponse};
use depot_core::models::{TaskGroupOperationResponse, task};
use depot_core::tasks::args::{FinalizeReplication, Replicate};
use depot_core::tasks::{Dispatch, TaskContext, TaskFuture, TaskRegistry};
use depot_http::expression::{self, DISTRIBUTION_FILTERS};
use depot_http::list::{fetch_page, href_filters, name_filters, scoped, time_filters};
use depot_http::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};
use depot_http::{
    ApiResult, AppState, Caller, CorrelationId, Fields, ListParams, QueryMap, created, no_content,
    ok,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

pub const BASE: &str = "/pulp/api/v3/upstream-pulps/";

/// An upstream Pulp's fields (checked by `upstream_pulp::check` as sent).
#[allow(dead_code)]
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpstreamPulpBody {
    /// A unique name for this Pulp server.
    pub name: String,
    /// The transport, hostname, and an optional port of the Pulp server. e.g.
    /// https://example.com
    pub base_url: String,
    /// The API root. Defaults to '/pulp/'.
    pub api_root: String,
    /// The domain of the Pulp server if enabled.
    #[serde(default)]
    pub domain: Option<String>,
    /// A PEM encoded CA certificate used to validate the server certificate presented by the
    /// remote server.
    #[serde(default)]
    pub ca_cert: Option<String>,
    /// A PEM encoded client certificate used for authentication.
    #[serde(default)]
    pub client_cert: Option<String>,
    /// A PEM encoded private key used for authentication.
    #[serde(default)]
    pub client_key: Option<String>,
    /// If True, TLS peer validation must be performed.
    #[serde(default)]
    pub tls_validation: Option<bool>,
    /// The username to be used for authentication when syncing.
    #[serde(default)]
    pub username: Option<String>,
    /// The password to be used for authentication when syncing.
    #[serde(default)]
    pub password: Option<String>,
    /// Total number of simultaneous connections.
    #[schemars(range(min = 1))]
    #[serde(default)]
    pub download_concurrency: Option<i64>,
    /// Maximum number of retry attempts after a download failure.
    #[serde(default)]
    pub max_retries: Option<i64>,
    #[serde(default)]
    pub total_timeout: Option<f64>,
    #[serde(default)]
    pub connect_timeout: Option<f64>,
    #[serde(default)]
    pub sock_connect_timeout: Option<f64>,
    #[serde(default)]
    pub sock_read_timeout: Option<f64>,
    /// Download policy for remotes created during replication (the remotes' default,
    /// 'immediate', when unset).
    #[serde(default)]
    pub remote_policy: Option<depot_core::models::remote::Policy>,
    /// Filter distributions on the upstream Pulp using complex filtering. E.g.
    /// pulp_label_select="foo" OR pulp_label_select="key=val"
    #[serde(default)]
    pub q_select: Option<String>,
    /// Policy for how replicate will manage the local objects within the domain.
    #[serde(default)]
    pub policy: Option<Policy>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PatchedUpstreamPulpBody {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub api_root: Option<String>,
    pub domain: Option<String>,
    pub ca_cert: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub tls_validation: Option<bool>,
    pub username: Option<String>,
    pub password: Option<String>,
    #[schemars(range(min = 1))]
    pub download_concurrency: Option<i64>,
    pub max_retries: Option<i64>,
    pub total_timeout: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub sock_connect_timeout: Option<f64>,
    pub sock_read_timeout: Option<f64>,
    pub remote_policy: Option<depot_core::models::remote::Policy>,
    pub q_select: Option<String>,
    pub policy: Option<Policy>,
}

/// What `replicate/` takes.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpstreamPulpReplicate {
    /// Filter distributions on the upstream Pulp using complex filtering. When specified,
    /// overrides the stored q_select for this replication run only.
    #[serde(default)]
    pub q_select: Option<String>,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(
            &format!("{BASE}{{id}}/"),
            get(read).patch(partial_update).put(update).delete(delete),
        )
        .route(&format!("{BASE}{{id}}/replicate/"), post(replicate))
        .merge(depot_http::object_roles::routes(BASE, &UPSTREAM_PULP))
}

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(run_replicate);
    reg.register(run_finalize);
}

/// The upstream Pulp `id`, which the caller may act on with `action`.
async fn acting_on(
    state: &AppState,
    caller: &Caller,
    id: &str,
    action: &str,
) -> ApiResult<UpstreamPulp> {
    let u = upstream_pulp::get(&state.db, id).await?;
    caller
        .may(state, BASE, (&UPSTREAM_PULP, id), action, vec![])
        .await?;
    Ok(u)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    caller.may_in(&state, BASE, "list", vec![]).await?;
    let scope = caller.scope(&state, &UPSTREAM_PULP).await?;
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&upstream_pulp::TABLE);
    scoped(&mut q, scope)?;
    name_filters(&mut q, &query, "name")?;
    name_filters(&mut q, &query, "base_url")?;
    let times = ["", "__lt", "__lte", "__gt", "__gte", "__range"];
    time_filters(&mut q, &query, "last_replication", &times)?;
    href_filters(&mut q, &query, &UPSTREAM_PULP)?;
    let orderings = [
        "name",
        "base_url",
        "pulp_created",
        "pulp_last_updated",
        "pk",
    ];
    params.order(&mut q, &orderings, &[("pulp_created", true)])?;
    let (count, rows) = fetch_page(&state, &q, &params, &query, None).await?;
    let results = rows
        .iter()
        .map(|r| Ok(serde_json::to_value(UpstreamPulp::from_row(r)?.response())?))
        .collect::<depot_core::CoreResult<Vec<Value>>>()?;
    Ok(ok(&params.page(&query, count, results)))
}

/// The fields sent, checked; a `q_select` must be an expression the distribution lists take.
fn checked(values: &Map<String, Value>, creating: bool) -> ApiResult<upstream_pulp::Fields> {
    let f = upstream_pulp::check(values, creating)?;
    if let Some(Some(q)) = &f.q_select {
        expression::check("q_select", q, DISTRIBUTION_FILTERS)?;
    }
    Ok(f)
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    fields: Fields,
) -> ApiResult<Response> {
    caller.may_in(&state, BASE, "create", vec![]).await?;
    let (_, values) = fields.parse_full::<UpstreamPulpBody>()?;
    let u = upstream_pulp::create(&state.db, checked(&values, true)?).await?;
    caller
        .created(&state, &Object::new(&UPSTREAM_PULP, &u.id))
        .await?;
    Ok(created(&u.response()))
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let u = acting_on(&state, &caller, &id, "retrieve").await?;
    depot_http::shaped(&query, &u.response())
}

async fn partial_update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    acting_on(&state, &caller, &id, "partial_update").await?;
    let (_, values) = fields.parse_patch::<PatchedUpstreamPulpBody>()?;
    let u = upstream_pulp::update(&state.db, &id, checked(&values, false)?).await?;
    Ok(ok(&u.response()))
}

/// A PUT needs what a create does; fields it leaves out keep their values, as DRF's do.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    acting_on(&state, &caller, &id, "update").await?;
    let (_, values) = fields.parse_full::<UpstreamPulpBody>()?;
    let u = upstream_pulp::update(&state.db, &id, checked(&values, true)?).await?;
    Ok(ok(&u.response()))
}

async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    acting_on(&state, &caller, &id, "destroy").await?;
    upstream_pulp::delete(&state.db, &id).await?;
    Ok(no_content())
}

/// Dispatches a replication in a new task group, one at a time per domain (Pulp's lock on
/// the domain's servers), and answers the group.
async fn replicate(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let u = acting_on(&state, &caller, &id, "replicate").await?;
    let body: UpstreamPulpReplicate = fields.parse()?;
    let q_select = body.q_select.filter(|q| !q.trim().is_empty());
    if let Some(q) = &q_select {
        expression::check("q_select", q, DISTRIBUTION_FILTERS)?;
    }
    let group = task::create_group(&state.db, &format!("Replication of {}", u.name)).await?;
    let args = Replicate {
        upstream_pulp_id: u.id.clone(),
        q_select,
    };
    let servers = format!("pdrn:{}:servers", depot_core::domain::id());
    let mut d = Dispatch::new("pulpcore.app.tasks.replica.replicate_distributions", &args)
        .exclusive([servers])
        .shared([u.prn()])
        .requested_by(&caller.user.id, &cid.0);
    d.task_group = Some(group.clone());
    depot_core::tasks::dispatch(&state, d).await?;
    let body = TaskGroupOperationResponse {
        task_group: TASK_GROUP.href(&group),
    };
    Ok(depot_http::json(StatusCode::ACCEPTED, &body))
}

fn run_replicate(ctx: TaskContext, args: Replicate) -> TaskFuture {
    Box::pin(async move {
        depot_core::replication::run(&ctx, args).await?;
        Ok(None)
    })
}

fn run_finalize(ctx: TaskContext, args: FinalizeReplication) -> TaskFuture {
    Box::pin(async move {
        depot_core::replication::finalize(&ctx, args).await?;
        Ok(None)
    })
}

/// The operations of `upstream-pulps/`, named as Pulp names them.
pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<UpstreamPulpResponse>();
    let c = openapi::Crud {
        base: BASE,
        href_param: "upstream_pulp_href",
        prefix: "upstream_pulps",
        tag: "Upstream-Pulps",
        filters: openapi::list_filters(
            &[
                "name",
                "name__contains",
                "name__icontains",
                "name__iexact",
                "name__startswith",
                "base_url",
                "base_url__contains",
                "base_url__icontains",
                "base_url__iexact",
                "base_url__startswith",
                "last_replication",
                "last_replication__gt",
                "last_replication__gte",
                "last_replication__lt",
                "last_replication__lte",
                "last_replication__range",
            ],
            &[
                "name__in",
                "base_url__in",
                "pulp_href__in",
                "prn__in",
                "pulp_id__in",
            ],
        ),
        page: doc.paginated::<UpstreamPulpResponse>(),
        request: doc.schema::<UpstreamPulpBody>(),
        patched: doc.schema::<PatchedUpstreamPulpBody>(),
        create: Some((201, resp.clone())),
        response: resp,
        delete: true,
        async_op: None,
    };
    openapi::add_crud(doc, c);
    let body = doc.schema::<UpstreamPulpReplicate>();
    let group_op = doc.schema::<TaskGroupOperationResponse>();
    doc.add(
        Op::new(
            "post",
            "{upstream_pulp_href}replicate/",
            "upstream_pulps_replicate",
            "Upstream-Pulps",
        )
        .summary("Replicate")
        .param(openapi::href_param("upstream_pulp_href"))
        .body(body, JSON_FORM_MULTIPART)
        .response(202, Some(group_op)),
    );
    depot_http::object_roles::openapi(
        doc,
        "upstream_pulp_href",
        "upstream_pulps",
        "Upstream-Pulps",
    );
}

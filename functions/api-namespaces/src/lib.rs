//! `pulp_container/namespaces/`: the first segments of container distributions' base paths.
//! Listed, made (also by the first distribution in them), read and deleted (with their
//! distributions, as an immediate task).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_container::namespaces::{self, ContainerNamespaceResponse, Namespace};
use depot_container::plugin::{NAMESPACE, NamespaceDelete};
use depot_core::models::Labels;
use depot_core::models::list::ListQuery;
use depot_core::tasks::{Dispatch, TaskContext, TaskFuture, TaskRegistry};
use depot_http::list::{href_filters, name_filters, page_response};
use depot_http::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};
use depot_http::{
    ApiResult, AppState, Authenticated, CorrelationId, Detail, Fields, ListParams, QueryMap,
    created, dispatched, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;

const BASE: &str = "/pulp/api/v3/pulp_container/namespaces/";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}{{id}}/"), get(read).delete(delete))
}

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(run_delete);
}

/// A namespace to make.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContainerNamespace {
    pub name: String,
    pub pulp_labels: Option<Labels>,
}

async fn create(
    State(state): State<AppState>,
    _: Authenticated,
    fields: Fields,
) -> ApiResult<Response> {
    let body: ContainerNamespace = fields.parse()?;
    let labels = match body.pulp_labels {
        Some(l) => depot_core::labels::validate(&serde_json::Value::Object(l))?,
        None => Labels::new(),
    };
    let ns = namespaces::create(&state.db, &body.name, labels).await?;
    Ok(created(&ns.response()))
}

async fn list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&namespaces::TABLE);
    name_filters(&mut q, &query, "name")?;
    href_filters(&mut q, &query, &NAMESPACE)?;
    let orderings = ["name", "pulp_created", "pulp_last_updated", "pk", "pulp_id"];
    params.order(&mut q, &orderings, &[("name", false)])?;
    page_response(&state, &q, &params, &query, Some("pulp_labels"), |r| {
        Namespace::from_row(r).map(|n| n.response())
    })
    .await
}

async fn read(State(state): State<AppState>, Detail { id, query }: Detail) -> ApiResult<Response> {
    let ns = namespaces::get(&state.db, &id).await?;
    shaped(&query, &ns.response())
}

async fn delete(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    namespaces::get(&state.db, &id).await?;
    // Its distributions go too: base paths change, so hold them like a distribution change.
    let args = NamespaceDelete { id: id.clone() };
    let d = Dispatch::new("pulpcore.app.tasks.base.general_multi_delete", &args)
        .exclusive(vec![
            NAMESPACE.prn(&id),
            depot_core::models::distribution::BASE_PATHS.into(),
        ])
        .immediate()
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

fn run_delete(ctx: TaskContext, args: NamespaceDelete) -> TaskFuture {
    Box::pin(async move {
        namespaces::delete(&ctx.core.db, &args.id).await?;
        Ok(None)
    })
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<ContainerNamespaceResponse>();
    let page = doc.paginated::<ContainerNamespaceResponse>();
    let req = doc.schema::<ContainerNamespace>();
    let async_op = doc.schema::<depot_core::models::AsyncOperationResponse>();
    let tag = "Pulp_Container/Namespaces";
    let href = "container_container_namespace_href";
    let detail = format!("{{{href}}}");
    let filters = openapi::list_filters(
        &[
            "name",
            "name__contains",
            "name__icontains",
            "name__startswith",
            "name__iexact",
        ],
        &["name__in", "pulp_href__in", "prn__in", "pulp_id__in"],
    );
    doc.add(
        Op::new("get", BASE, "pulp_container_namespaces_list", tag)
            .params(filters)
            .response(200, Some(page)),
    );
    doc.add(
        Op::new("post", BASE, "pulp_container_namespaces_create", tag)
            .body(req, JSON_FORM_MULTIPART)
            .response(201, Some(resp.clone())),
    );
    doc.add(
        Op::new("get", detail.clone(), "pulp_container_namespaces_read", tag)
            .param(openapi::href_param(href))
            .params(openapi::field_params())
            .response(200, Some(resp)),
    );
    doc.add(
        Op::new("delete", detail, "pulp_container_namespaces_delete", tag)
            .param(openapi::href_param(href))
            .response(202, Some(async_op)),
    );
}

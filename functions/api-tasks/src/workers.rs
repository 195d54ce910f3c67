//! `workers/`: the processes that run tasks, read-only, as Pulp lists them (any
//! authenticated user may read them; they hold no tenant's data but a task href).

use axum::extract::State;
use axum::response::Response;
use depot_core::hrefs::WORKER;
use depot_core::models::list::{Bind, Cmp, Filter, ListQuery};
use depot_core::models::worker::{self, Worker, WorkerResponse};
use depot_http::list::{href_filters, name_filters, page_response, time_filters};
use depot_http::openapi::{self, ApiDoc, Op};
use depot_http::{ApiResult, AppState, Authenticated, Detail, ListParams, QueryMap, shaped};

pub const BASE: &str = "/pulp/api/v3/workers/";

fn add_filters(q: &mut ListQuery, query: &QueryMap) -> ApiResult<()> {
    name_filters(q, query, "name")?;
    let suffixes = ["", "__gte", "__lte", "__gt", "__lt", "__range"];
    time_filters(q, query, "last_heartbeat", &suffixes)?;
    href_filters(q, query, &WORKER)?;
    // Online: heard from within the TTL; missing: not. `false` asks for the others.
    let recent = || depot_core::time::ago(worker::TTL_SECS);
    for (param, online) in [("online", true), ("missing", false)] {
        if let Some(wanted) = query.bool(param)? {
            let cmp = if wanted == online { Cmp::Ge } else { Cmp::Lt };
            q.with(Filter::Cmp("last_heartbeat", cmp, Bind::Text(recent())))?;
        }
    }
    Ok(())
}

pub async fn list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&worker::TABLE);
    add_filters(&mut q, &query)?;
    let orderings = ["name", "last_heartbeat", "pulp_created", "pk"];
    params.order(&mut q, &orderings, &[("name", false)])?;
    page_response(&state, &q, &params, &query, None, |r| {
        Worker::from_row(r).map(|w| w.response())
    })
    .await
}

pub async fn read(
    State(state): State<AppState>,
    Detail { id, query }: Detail,
) -> ApiResult<Response> {
    let w = worker::get(&state.db, &id).await?;
    shaped(&query, &w.response())
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<WorkerResponse>();
    let page = doc.paginated::<WorkerResponse>();
    let plain = [
        &openapi::NAME_FILTERS[..],
        &[
            "last_heartbeat",
            "last_heartbeat__gte",
            "last_heartbeat__lte",
            "last_heartbeat__gt",
            "last_heartbeat__lt",
            "last_heartbeat__range",
            "online",
            "missing",
        ],
    ]
    .concat();
    let filters = openapi::list_filters(&plain, &["pulp_href__in", "prn__in", "pulp_id__in"]);
    doc.add(
        Op::new("get", BASE, "workers_list", "Workers")
            .params(filters)
            .response(200, Some(page)),
    );
    doc.add(
        Op::new("get", "{worker_href}", "workers_read", "Workers")
            .param(openapi::href_param("worker_href"))
            .params(openapi::field_params())
            .response(200, Some(resp)),
    );
}

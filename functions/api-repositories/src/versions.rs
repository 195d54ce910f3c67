//! `<repository>/versions/`: list, read, delete and repair repository versions.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use depot_core::CoreError;
use depot_core::access::{Check, Object};
use depot_core::models::list::{Bind, Filter, ListQuery};
use depot_core::models::repository::{self, Repository};
use depot_core::models::version::{self, RepositoryVersionResponse, Version};
use depot_core::plugin::Family;
use depot_core::tasks::args::{RepositoryVersionDelete, VulnerabilityScan};
use depot_core::tasks::{Dispatch, TaskContext, TaskFuture, TaskRegistry};
use depot_http::access::viewset_of;
use depot_http::list::{fetch_page, number_filters, time_filters, version_content_filters};
use depot_http::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};
use depot_http::repair::{RepairBody, Target};
use depot_http::{
    ApiResult, AppState, Caller, CorrelationId, Fields, ListParams, QueryMap, dispatched, ok,
    shaped,
};
use serde_json::Value;

use depot_http::plugin_api::RepositoryType;

pub fn routes<P: RepositoryType>() -> Router<AppState> {
    Router::new()
        .route(&format!("{}{{id}}/versions/", P::BASE), get(list::<P>))
        .route(
            &format!("{}{{id}}/versions/{{number}}/", P::BASE),
            get(read::<P>).delete(delete::<P>),
        )
        .route(
            &format!("{}{{id}}/versions/{{number}}/repair/", P::BASE),
            post(repair::<P>),
        )
        .route(
            &format!("{}{{id}}/versions/{{number}}/scan/", P::BASE),
            post(scan::<P>),
        )
}

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(run_delete);
}

/// Repository `id` of type `P`, whose versions the caller may `action` (`list`,
/// `retrieve`, `destroy`): the versions' policy asks for permissions on the repository.
async fn allowed<P: RepositoryType>(
    state: &AppState,
    caller: &Caller,
    id: &str,
    action: &str,
) -> ApiResult<Repository> {
    // Pulp finds the repository in the domain without asking who may see it, so that a caller
    // who may not gets 403 here where the repository itself answers 404.
    let repo = repository::get_of_type(&state.db, id, P::PULP_TYPE).await?;
    let check = Check {
        action,
        repository: Some(Object::new(P::KIND, id)),
        ..Check::default()
    };
    let viewset = format!("{}/versions", viewset_of(P::BASE));
    caller.authorize(state, &viewset, check).await?;
    Ok(repo)
}

fn number(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| CoreError::not_found("RepositoryVersion").into())
}

/// `repository_versions/`: the versions of every repository the caller may see.
pub async fn list_all(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    let mut q = ListQuery::of(&version::TABLE);
    let mut any = Vec::new();
    for kind in depot_core::plugin::of_family(Family::Repository) {
        let of_type = Filter::Is("repository_type", Bind::Text(kind.pulp_type.into()));
        any.push(match caller.scope(&state, kind).await? {
            None => of_type,
            Some(grantee) => Filter::AllOf(vec![of_type, Filter::Granted("repository", grantee)]),
        });
    }
    q.with(Filter::AnyOf(any))?;
    filtered_page(&state, q, &query, "pulp_created").await
}

/// The filters both version lists take (number, content, creation time), and their page,
/// newest first by `order`.
async fn filtered_page(
    state: &AppState,
    mut q: ListQuery,
    query: &QueryMap,
    order: &'static str,
) -> ApiResult<Response> {
    let params = ListParams::from_query(query)?;
    number_filters(&mut q, query, "number")?;
    version_content_filters(state, &mut q, query, "id").await?;
    let times = ["", "__gte", "__lte", "__gt", "__lt", "__range"];
    time_filters(&mut q, query, "pulp_created", &times)?;
    params.order(&mut q, &["number", "pulp_created", "pk"], &[(order, true)])?;
    let (count, rows) = fetch_page(state, &q, &params, query, None).await?;
    let mut results = Vec::new();
    for r in &rows {
        let v = Version::from_row(r)?;
        results.push(serde_json::to_value(
            version::response(&state.db, &v).await?,
        )?);
    }
    Ok(ok(&params.page(query, count, results)))
}

async fn list<P: RepositoryType>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    allowed::<P>(&state, &caller, &id, "list").await?;
    let mut q = ListQuery::of(&version::TABLE);
    q.with(Filter::Is("repository", Bind::Text(id.clone())))?;
    filtered_page(&state, q, &query, "number").await
}

async fn read<P: RepositoryType>(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, String)>,
    query: QueryMap,
) -> ApiResult<Response> {
    allowed::<P>(&state, &caller, &id, "retrieve").await?;
    let v = version::get(&state.db, &id, number(&n)?).await?;
    let resp = version::response(&state.db, &v).await?;
    shaped(&query, &resp)
}

async fn delete<P: RepositoryType>(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult<Response> {
    let n = number(&n)?;
    let repo = allowed::<P>(&state, &caller, &id, "destroy").await?;
    let user = &caller.user;
    version::get(&state.db, &id, n).await?;
    if version::protected_numbers(&state.db, &id)
        .await?
        .contains(&n)
    {
        return Err(CoreError::invalid(
            "The repository version cannot be deleted because it (or its publications) are \
             currently being used to distribute content. Please update the necessary \
             distributions first.",
        )
        .into());
    }
    let args = RepositoryVersionDelete {
        repository_id: id,
        number: n,
    };
    let d = Dispatch::new("pulpcore.app.tasks.repository.delete_version", &args)
        .exclusive(vec![repo.prn()])
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

/// Checks the version's stored files and fetches missing or damaged ones again.
async fn repair<P: RepositoryType>(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path((id, n)): Path<(String, String)>,
    fields: Fields,
) -> ApiResult<Response> {
    let n = number(&n)?;
    let repo = allowed::<P>(&state, &caller, &id, "repair").await?;
    version::get(&state.db, &id, n).await?;
    let target = Target::Version {
        repository_prn: repo.prn(),
        repository_id: &id,
        number: n,
    };
    depot_http::repair::dispatch(&state, &caller, &cid, fields, target).await
}

/// Looks the version's packages up in OSV (types whose plugin can; others have no `scan/`).
async fn scan<P: RepositoryType>(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult<Response> {
    if depot_core::vulnerability::of(P::KIND).is_none() {
        return Err(CoreError::NotFound("Not found.".into()).into());
    }
    let n = number(&n)?;
    let repo = allowed::<P>(&state, &caller, &id, "scan").await?;
    version::get(&state.db, &id, n).await?;
    let args = VulnerabilityScan {
        repository_id: id,
        number: n,
    };
    let d = Dispatch::new(
        "pulpcore.app.tasks.vulnerability_report.check_content",
        &args,
    )
    .shared(vec![repo.prn()])
    .requested_by(&caller.user.id, &cid.0);
    dispatched(&state, d).await
}

fn run_delete(ctx: TaskContext, args: RepositoryVersionDelete) -> TaskFuture {
    Box::pin(async move {
        version::delete(&ctx.core.db, &args.repository_id, args.number).await?;
        Ok(None)
    })
}

pub fn openapi<P: RepositoryType>(doc: &mut ApiDoc, async_op: Value) {
    let resp = doc.schema::<RepositoryVersionResponse>();
    let page = doc.paginated::<RepositoryVersionResponse>();
    let tag = P::VERSIONS_TAG;
    let mut filters = openapi::list_params();
    for f in [
        "number",
        "number__gte",
        "number__lte",
        "number__gt",
        "number__lt",
    ] {
        filters.push(openapi::query_param(f, "integer", f));
    }
    filters.push(openapi::query_param(
        "content",
        "string",
        "versions holding this unit",
    ));
    filters.push(openapi::csv_param(
        "content__in",
        "versions holding any of these units",
    ));
    let list_p = openapi::href_param(P::HREF_PARAM);
    let p = || openapi::href_param(P::VERSION_HREF_PARAM);
    let detail = format!("{{{}}}", P::VERSION_HREF_PARAM);
    let id = |action: &str| format!("{}_versions_{action}", P::PREFIX);
    doc.add(
        Op::new(
            "get",
            format!("{{{}}}versions/", P::HREF_PARAM),
            id("list"),
            tag,
        )
        .param(list_p)
        .params(filters)
        .response(200, Some(page)),
    );
    doc.add(
        Op::new("get", detail.clone(), id("read"), tag)
            .param(p())
            .params(openapi::field_params())
            .response(200, Some(resp)),
    );
    doc.add(
        Op::new("delete", detail.clone(), id("delete"), tag)
            .param(p())
            .response(202, Some(async_op.clone())),
    );
    let repair = doc.schema::<RepairBody>();
    doc.add(
        Op::new("post", format!("{detail}repair/"), id("repair"), tag)
            .summary("Trigger an asynchronous task to repair a repository version.")
            .param(p())
            .body(repair, JSON_FORM_MULTIPART)
            .response(202, Some(async_op.clone())),
    );
    if depot_core::vulnerability::of(P::KIND).is_some() {
        doc.add(
            Op::new("post", format!("{detail}scan/"), id("scan"), tag)
                .summary("Generate vulnerability report")
                .param(p())
                .response(202, Some(async_op)),
        );
    }
}

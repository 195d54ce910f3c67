//! Publications of every type the plugins have (`publications/<plugin>/<type>/`): list,
//! create (the plugin's publish task), read and delete, written once over [`PublicationType`].

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::CoreError;
use depot_core::hrefs::parse_version_href;
use depot_core::models::list::{Bind, Filter, ListQuery};
use depot_core::models::publication::{self, FilePublicationResponse, Publication};
use depot_core::models::{repository, version};
use depot_core::plugin::Family;
use depot_core::tasks::Dispatch;
use depot_http::access::params;
use depot_http::list::{
    family_scope, fetch_page, href_filters, href_filters_any, scoped, time_filters,
    version_content_filters,
};
use depot_http::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};
use depot_http::plugin_api::{self, FamilyApi, PublicationType};
use depot_http::{
    ApiResult, AppState, Caller, CorrelationId, Fields, ListParams, QueryMap, dispatched,
    no_content, ok, shaped,
};
use serde_json::Value;

const ALL: &str = "/pulp/api/v3/publications/";

pub fn router() -> Router<AppState> {
    plugin_api::mount::<PublicationFamily>(depot_plugins::visit_api).route(ALL, get(list_all))
}

/// Adds this family's operations to the OpenAPI document.
pub fn openapi(doc: &mut ApiDoc) {
    plugin_api::document::<PublicationFamily>(doc, depot_plugins::visit_api);
    let page = doc.paginated::<FilePublicationResponse>();
    let content = vec![
        openapi::query_param(
            "content",
            "string",
            "publications of versions holding this unit",
        ),
        openapi::csv_param(
            "content__in",
            "publications of versions holding any of these units",
        ),
    ];
    openapi::generic_list(
        doc,
        (ALL, "publications_list", "Publications"),
        page,
        content,
    );
}

/// `publications/`: publications of every type the caller may see, newest first.
async fn list_all(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    let mut q = ListQuery::of(&publication::TABLE);
    q.with(family_scope(&state, &caller, Family::Publication).await?)?;
    href_filters_any(&mut q, &query, Family::Publication)?;
    version_content_filters(&state, &mut q, &query, "repository_version").await?;
    page(&state, q, &query).await
}

/// This family, as it serves each publication type.
struct PublicationFamily;

impl FamilyApi for PublicationFamily {
    const FAMILY: Family = Family::Publication;

    fn publication<T: PublicationType>() -> Router<AppState> {
        routes::<T>()
    }

    fn document_publication<T: PublicationType>(doc: &mut ApiDoc) {
        openapi_of::<T>(doc);
    }
}

fn routes<P: PublicationType>() -> Router<AppState> {
    Router::new()
        .route(P::BASE, get(list::<P>).post(create::<P>))
        .route(
            &format!("{}{{id}}/", P::BASE),
            get(read::<P>).delete(delete::<P>),
        )
        .merge(depot_http::object_roles::routes(P::BASE, P::KIND))
}

async fn create<P: PublicationType>(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    fields: Fields,
) -> ApiResult<Response> {
    caller
        .may_in(&state, P::BASE, "create", params(&fields))
        .await?;
    let user = &caller.user;
    let (_, raw) = fields.parse_full::<P::Create>()?;
    let text = |k: &str| raw.get(k).and_then(Value::as_str);
    let v = match (text("repository"), text("repository_version")) {
        (Some(_), Some(_)) => {
            return Err(CoreError::invalid(
                "Only one of the attributes 'repository' and 'repository_version' may be specified",
            )
            .into());
        }
        (None, None) => {
            return Err(CoreError::invalid(
                "Either the 'repository' or 'repository_version' need to be specified",
            )
            .into());
        }
        (Some(h), None) => {
            let id = depot_core::hrefs::resolve(P::REPOSITORY, "repository", h)?;
            let repo = repository::get_of_type(&state.db, &id, P::PULP_TYPE)
                .await
                .map_err(|_| depot_core::hrefs::missing("repository", h))?;
            version::get(&state.db, &id, repo.latest_number).await?
        }
        (None, Some(h)) => {
            // A checkpoint is the state of a repository at its time, not of any version.
            if raw.get("checkpoint").and_then(Value::as_bool) == Some(true) {
                return Err(CoreError::invalid(
                    "A checkpoint publication is made of a repository, not of a repository version.",
                )
                .into());
            }
            let v = version::resolve(&state.db, "repository_version", h, false).await?;
            if v.repository_type != P::PULP_TYPE {
                return Err(depot_core::hrefs::missing("repository_version", h).into());
            }
            v
        }
    };
    let args = P::task(v.id.clone(), &raw)?;
    let d = Dispatch::new(P::TASK, &args)
        .shared(vec![P::REPOSITORY.prn(&v.repository_id)])
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

async fn list<P: PublicationType>(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    caller.may_in(&state, P::BASE, "list", vec![]).await?;
    let mut q = ListQuery::of(&publication::TABLE);
    q.with(Filter::Is("pulp_type", Bind::Text(P::PULP_TYPE.into())))?;
    scoped(&mut q, caller.scope(&state, P::KIND).await?)?;
    href_filters(&mut q, &query, P::KIND)?;
    version_content_filters(&state, &mut q, &query, "repository_version").await?;
    if let Some(h) = query.get("repository_version") {
        let (repo, n) = parse_version_href(h).ok_or_else(|| {
            CoreError::field("repository_version", "Invalid repository version href.")
        })?;
        // A version that does not exist is a bad filter, as Pulp answers it (not an empty page).
        depot_core::models::version::get(&state.db, &repo, n)
            .await
            .map_err(|_| depot_core::hrefs::missing("repository_version", h))?;
        q.with(Filter::Is("repository", Bind::Text(repo)))?;
        q.with(Filter::Is("number", Bind::Int(n)))?;
    }
    if let Some(h) = query.get("repository") {
        let id = P::REPOSITORY
            .parse_ref(h)
            .ok_or_else(|| CoreError::field("repository", "Invalid repository href."))?;
        q.with(Filter::Is("repository", Bind::Text(id)))?;
    }
    page(&state, q, &query).await
}

/// One page of `q` with Pulp's time filters and ordering, each publication as Pulp shows it.
async fn page(state: &AppState, mut q: ListQuery, query: &QueryMap) -> ApiResult<Response> {
    let params = ListParams::from_query(query)?;
    time_filters(
        &mut q,
        query,
        "pulp_created",
        &["", "__gte", "__lte", "__gt", "__lt"],
    )?;
    params.order(&mut q, &["pulp_created", "pk"], &[("pulp_created", true)])?;
    let (count, rows) = fetch_page(state, &q, &params, query, None).await?;
    let mut results = Vec::with_capacity(rows.len());
    for r in &rows {
        let p = Publication::from_row(r)?;
        let shown = publication::response(&state.db, &p).await?;
        results.push(serde_json::to_value(shown).unwrap_or_default());
    }
    Ok(ok(&params.page(query, count, results)))
}

async fn find<P: PublicationType>(state: &AppState, id: &str) -> ApiResult<Publication> {
    let p = publication::get(&state.db, id).await?;
    if p.pulp_type != P::PULP_TYPE {
        return Err(CoreError::not_found("Publication").into());
    }
    Ok(p)
}

async fn read<P: PublicationType>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let p = find::<P>(&state, &id).await?;
    caller
        .may(&state, P::BASE, (P::KIND, &id), "retrieve", vec![])
        .await?;
    let resp = publication::response(&state.db, &p).await?;
    shaped(&query, &resp)
}

async fn delete<P: PublicationType>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    find::<P>(&state, &id).await?;
    caller
        .may(&state, P::BASE, (P::KIND, &id), "destroy", vec![])
        .await?;
    publication::delete(&state.db, &id).await?;
    Ok(no_content())
}

fn openapi_of<P: PublicationType>(doc: &mut ApiDoc) {
    let resp = doc.schema::<FilePublicationResponse>();
    let page = doc.paginated::<FilePublicationResponse>();
    let req = doc.schema::<P::Create>();
    let async_op = doc.schema::<depot_core::models::AsyncOperationResponse>();
    let filters = openapi::list_filters(
        &[
            "repository",
            "repository_version",
            "pulp_created",
            "pulp_created__gte",
            "pulp_created__lte",
            "pulp_created__gt",
            "pulp_created__lt",
            "content",
        ],
        &["pulp_href__in", "prn__in", "pulp_id__in", "content__in"],
    );
    let detail = format!("{{{}}}", P::HREF_PARAM);
    let id = |action: &str| format!("{}_{action}", P::PREFIX);
    let p = || openapi::href_param(P::HREF_PARAM);
    doc.add(
        Op::new("get", P::BASE, id("list"), P::TAG)
            .params(filters)
            .response(200, Some(page)),
    );
    doc.add(
        Op::new("post", P::BASE, id("create"), P::TAG)
            .body(req, JSON_FORM_MULTIPART)
            .response(202, Some(async_op)),
    );
    doc.add(
        Op::new("get", detail.clone(), id("read"), P::TAG)
            .param(p())
            .params(openapi::field_params())
            .response(200, Some(resp)),
    );
    doc.add(
        Op::new("delete", detail, id("delete"), P::TAG)
            .param(p())
            .response(204, None),
    );
    depot_http::object_roles::openapi(doc, P::HREF_PARAM, P::PREFIX, P::TAG);
}

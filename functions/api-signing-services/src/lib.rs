//! `signing-services/`: the signing services an administrator added on the server
//! (`local-runner add-signing-service`, see `depot_core::signing`), read-only, as Pulp lists
//! them to any authenticated user.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use depot_core::hrefs::SIGNING_SERVICE;
use depot_core::models::list::ListQuery;
use depot_core::models::signing_service::{self, SigningService, SigningServiceResponse};
use depot_http::list::{href_filters, name_filters, page_response};
use depot_http::openapi::{self, ApiDoc, Op};
use depot_http::{ApiResult, AppState, Authenticated, Detail, ListParams, QueryMap, shaped};

const BASE: &str = "/pulp/api/v3/signing-services/";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list))
        .route(&format!("{BASE}{{id}}/"), get(read))
}

async fn list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&signing_service::TABLE);
    name_filters(&mut q, &query, "name")?;
    href_filters(&mut q, &query, &SIGNING_SERVICE)?;
    params.order(&mut q, &["name", "pulp_created", "pk"], &[("name", false)])?;
    page_response(&state, &q, &params, &query, None, |r| {
        SigningService::from_row(r).map(|s| s.response())
    })
    .await
}

async fn read(State(state): State<AppState>, Detail { id, query }: Detail) -> ApiResult<Response> {
    let s = signing_service::get(&state.db, &id).await?;
    shaped(&query, &s.response())
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<SigningServiceResponse>();
    let page = doc.paginated::<SigningServiceResponse>();
    let filters = openapi::list_filters(
        &openapi::NAME_FILTERS,
        &["pulp_href__in", "prn__in", "pulp_id__in"],
    );
    let tag = "Signing-Services";
    doc.add(
        Op::new("get", BASE, "signing_services_list", tag)
            .params(filters)
            .response(200, Some(page)),
    );
    doc.add(
        Op::new(
            "get",
            "{signing_service_href}",
            "signing_services_read",
            tag,
        )
        .param(openapi::href_param("signing_service_href"))
        .params(openapi::field_params())
        .response(200, Some(resp)),
    );
}

//! `access_policies/`: the policy of each viewset, as Pulp serves them. Listed, read, changed
//! (then `customized`) and `reset/` to the default; never created or deleted by clients.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use depot_core::hrefs::ACCESS_POLICY;
use depot_core::models::access_policy::{self, AccessPolicy, AccessPolicyResponse};
use depot_core::models::list::{Bind, Filter, ListQuery};
use depot_http::list::{href_filters, name_filters, page_response};
use depot_http::openapi::{self, ApiDoc, Op};
use depot_http::{
    ApiResult, AppState, Authenticated, Detail, Fields, ListParams, QueryMap, ok, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

const BASE: &str = "/pulp/api/v3/access_policies/";

/// Fields a policy shows that clients cannot change: sent, they are ignored, as in Pulp.
const READ_ONLY: &[&str] = &["viewset_name", "customized"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list))
        .route(
            &format!("{BASE}{{id}}/"),
            get(read).put(replace).patch(change),
        )
        .route(&format!("{BASE}{{id}}/reset/"), post(reset))
}

/// What a client may change on a policy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "AccessPolicy")]
#[allow(dead_code)] // read through the fields that were sent
pub struct AccessPolicyBody {
    /// List of callables that define the new permissions to be created for new objects.This
    /// is deprecated. Use `creation_hooks` instead.
    pub permissions_assignment: Option<Vec<Map<String, Value>>>,
    /// List of callables that may associate user roles for new objects.
    pub creation_hooks: Option<Vec<Map<String, Value>>>,
    /// List of policy statements defining the policy.
    pub statements: Vec<Map<String, Value>>,
    /// A callable for performing queryset scoping. See plugin documentation for valid
    /// callables. Set to blank to turn off queryset scoping.
    pub queryset_scoping: Option<Map<String, Value>>,
}

/// The same, every field optional.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "PatchedAccessPolicy")]
#[allow(dead_code)] // read through the fields that were sent
pub struct PatchedAccessPolicyBody {
    pub permissions_assignment: Option<Vec<Map<String, Value>>>,
    pub creation_hooks: Option<Vec<Map<String, Value>>>,
    pub statements: Option<Vec<Map<String, Value>>>,
    pub queryset_scoping: Option<Map<String, Value>>,
}

async fn list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&access_policy::TABLE);
    name_filters(&mut q, &query, "viewset_name")?;
    if let Some(c) = query.bool("customized")? {
        q.with(Filter::Is("customized", Bind::Bool(c)))?;
    }
    href_filters(&mut q, &query, &ACCESS_POLICY)?;
    let orderings = [
        "viewset_name",
        "customized",
        "pulp_created",
        "pulp_last_updated",
    ];
    params.order(&mut q, &orderings, &[("viewset_name", false)])?;
    page_response(&state, &q, &params, &query, None, |r| {
        AccessPolicy::from_row(r).map(|p| p.response())
    })
    .await
}

async fn read(State(state): State<AppState>, Detail { id, query }: Detail) -> ApiResult<Response> {
    shaped(
        &query,
        &access_policy::get(&state.db, &id).await?.response(),
    )
}

async fn replace(
    state: State<AppState>,
    auth: Authenticated,
    id: Path<String>,
    mut fields: Fields,
) -> ApiResult<Response> {
    fields.ignore(READ_ONLY);
    let (_, raw) = fields.parse_full::<AccessPolicyBody>()?;
    update(state, auth, id, raw).await
}

async fn change(
    state: State<AppState>,
    auth: Authenticated,
    id: Path<String>,
    mut fields: Fields,
) -> ApiResult<Response> {
    fields.ignore(READ_ONLY);
    let (_, raw) = fields.parse_patch::<PatchedAccessPolicyBody>()?;
    update(state, auth, id, raw).await
}

async fn update(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    raw: Map<String, Value>,
) -> ApiResult<Response> {
    let changed = access_policy::update(&state.db, &id, &raw).await?;
    state.policies.forget();
    Ok(ok(&changed.response()))
}

async fn reset(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let reset = access_policy::reset(&state.db, &id).await?;
    state.policies.forget();
    Ok(ok(&reset.response()))
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<AccessPolicyResponse>();
    let page = doc.paginated::<AccessPolicyResponse>();
    let req = doc.schema::<AccessPolicyBody>();
    let patched = doc.schema::<PatchedAccessPolicyBody>();
    let plain = [
        "viewset_name",
        "viewset_name__contains",
        "viewset_name__icontains",
        "viewset_name__iexact",
        "viewset_name__startswith",
        "customized",
    ];
    openapi::add_crud(
        doc,
        openapi::Crud {
            base: BASE,
            href_param: "access_policy_href",
            prefix: "access_policies",
            tag: "Access Policies",
            filters: openapi::list_filters(
                &plain,
                &["viewset_name__in", "pulp_href__in", "prn__in"],
            ),
            page,
            request: req,
            patched,
            create: None,
            response: resp.clone(),
            delete: false,
            async_op: None,
        },
    );
    doc.add(
        Op::new(
            "post",
            "{access_policy_href}reset/",
            "access_policies_reset",
            "Access Policies",
        )
        .summary("Reset the policy to its default")
        .param(openapi::href_param("access_policy_href"))
        .response(200, Some(resp)),
    );
}

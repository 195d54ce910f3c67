//! `roles/`: named sets of permissions, as Pulp serves them. Locked roles (core's and the
//! plugins') are listed and read like any other, and refuse every change with 403.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::hrefs::{API_ROOT, ROLE};
use depot_core::models::list::{Bind, Filter, ListQuery, Match};
use depot_core::models::role::{self, Role, RoleChanges, RoleResponse};
use depot_core::{CoreError, CoreResult, plugin};
use depot_http::list::{fetch_page, href_filters, name_filters};
use depot_http::openapi::{self, ApiDoc};
use depot_http::{
    ApiResult, AppState, Authenticated, Changes, Detail, Fields, ListParams, QueryMap, created,
    no_content, ok, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

const BASE: &str = "/pulp/api/v3/roles/";

pub fn routes() -> Router<AppState> {
    Router::new().route(BASE, get(list).post(create)).route(
        &format!("{BASE}{{id}}/"),
        get(read).put(update).patch(update).delete(delete),
    )
}

/// A role to make (or, with PUT, the whole of one).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Role")]
pub struct RoleBody {
    /// The name of this role.
    pub name: String,
    /// An optional description.
    #[serde(default)]
    pub description: Option<String>,
    /// List of permissions defining the role.
    pub permissions: Vec<String>,
}

/// Fields to change on a role.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "PatchedRole")]
#[allow(dead_code)] // read through the fields that were sent
pub struct PatchedRoleBody {
    pub name: Option<String>,
    pub description: Option<String>,
    pub permissions: Option<Vec<String>>,
}

async fn list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&role::TABLE);
    name_filters(&mut q, &query, "name")?;
    let description = [
        ("description", Match::Exact),
        ("description__iexact", Match::IExact),
        ("description__contains", Match::Contains),
        ("description__icontains", Match::IContains),
    ];
    for (param, how) in description {
        if let Some(v) = query.get(param) {
            q.with(Filter::Text("description", how, v.to_string()))?;
        }
    }
    if let Some(locked) = query.bool("locked")? {
        q.with(Filter::Is("locked", Bind::Bool(locked)))?;
    }
    if query.get("contains_permission").is_some() {
        let perms = query.list("contains_permission");
        q.with(Filter::In(
            "id",
            role::ids_with_any(&state.db, &perms).await?,
        ))?;
    }
    if let Some(collection) = query.get("for_object_type") {
        let model = object_type(collection)?;
        q.with(Filter::In(
            "id",
            role::ids_only_for(&state.db, model).await?,
        ))?;
    }
    href_filters(&mut q, &query, &ROLE)?;
    let orderings = ["name", "description", "locked", "pulp_created"];
    params.order(&mut q, &orderings, &[("name", false)])?;
    let (count, rows) = fetch_page(&state, &q, &params, &query, None).await?;
    let roles = rows.iter().map(Role::from_row).collect::<CoreResult<_>>()?;
    let results = role::with_permissions(&state.db, roles)
        .await?
        .iter()
        .map(|r| serde_json::to_value(r.response()).unwrap_or_default())
        .collect();
    Ok(ok(&params.page(&query, count, results)))
}

/// The model of the collection `reference` names (its href, or its URL on this server; under
/// any domain's root, as collections are the same in each).
fn object_type(reference: &str) -> CoreResult<&'static str> {
    let path = match reference.find("/pulp/") {
        Some(at) => &reference[at..],
        None => reference,
    };
    let plain = depot_core::domain::split_api_path(path).map(|(_, plain)| plain);
    let path = plain.as_deref().unwrap_or(path);
    let collection = path.strip_prefix(API_ROOT).unwrap_or("");
    plugin::resource_types()
        .find(|k| !k.collection.is_empty() && k.collection == collection)
        .map(|k| k.prn_model)
        .ok_or_else(|| {
            CoreError::field(
                "for_object_type",
                format!("Invalid value: {reference} is not the URL of a collection."),
            )
        })
}

async fn create(
    State(state): State<AppState>,
    _: Authenticated,
    fields: Fields,
) -> ApiResult<Response> {
    let body: RoleBody = fields.parse()?;
    let made = role::create(
        &state.db,
        &body.name,
        body.description.as_deref(),
        &body.permissions,
    )
    .await?;
    Ok(created(&made.response()))
}

async fn read(State(state): State<AppState>, Detail { id, query }: Detail) -> ApiResult<Response> {
    shaped(&query, &role::get(&state.db, &id).await?.response())
}

/// PUT (the whole role) and PATCH.
async fn update(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    changes: Changes<RoleBody, PatchedRoleBody>,
) -> ApiResult<Response> {
    let raw = changes.fields;
    let text = |field: &str| -> CoreResult<Option<String>> {
        match raw.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(CoreError::field(field, "This field may not be null.")),
        }
    };
    let permissions = match raw.get("permissions") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|p| p.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| CoreError::field("permissions", "Expected a list of items."))?,
        ),
        Some(_) => {
            return Err(CoreError::field("permissions", "This field may not be null.").into());
        }
    };
    let changes = RoleChanges {
        name: text("name")?,
        description: raw
            .get("description")
            .map(|d| d.as_str().map(str::to_string)),
        permissions,
    };
    let changed = role::update(&state.db, &id, changes).await?;
    state.grants.forget();
    Ok(ok(&changed.response()))
}

async fn delete(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    role::delete(&state.db, &id).await?;
    state.grants.forget();
    Ok(no_content())
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<RoleResponse>();
    let page = doc.paginated::<RoleResponse>();
    let req = doc.schema::<RoleBody>();
    let patched = doc.schema::<PatchedRoleBody>();
    let plain = [
        "name",
        "name__contains",
        "name__icontains",
        "name__iexact",
        "name__startswith",
        "description",
        "description__contains",
        "description__icontains",
        "description__iexact",
        "locked",
        "for_object_type",
    ];
    let lists = [
        "name__in",
        "contains_permission",
        "pulp_href__in",
        "prn__in",
    ];
    openapi::add_crud(
        doc,
        openapi::Crud {
            base: BASE,
            href_param: "role_href",
            prefix: "roles",
            tag: "Roles",
            filters: openapi::list_filters(&plain, &lists),
            page,
            request: req,
            patched,
            create: Some((201, resp.clone())),
            response: resp,
            delete: true,
            async_op: None,
        },
    );
}

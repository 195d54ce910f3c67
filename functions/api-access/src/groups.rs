//! `groups/` and `groups/<id>/users/`: groups of users, and who is in each, as Pulp serves
//! them (at once, without tasks), under Pulp's policies for both: whoever may add groups
//! owns the ones they make, and a group's own roles say who may see and change it.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{delete, get};
use depot_core::CoreError;
use depot_core::access::{Check, Object};
use depot_core::hrefs::GROUP;
use depot_core::models::group::{self, Group, GroupResponse, GroupUserResponse};
use depot_core::models::list::{Bind, Filter, ListQuery};
use depot_http::list::{href_filters_on, name_filters, page_response, scoped_on};
use depot_http::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};
use depot_http::{
    ApiResult, AppState, Caller, Fields, ListParams, QueryMap, created, no_content, ok, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

const BASE: &str = "/pulp/api/v3/groups/";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(
            &format!("{BASE}{{id}}/"),
            get(read).put(replace).patch(change).delete(remove),
        )
        .route(
            &format!("{BASE}{{id}}/users/"),
            get(members).post(add_member),
        )
        .route(
            &format!("{BASE}{{id}}/users/{{user}}/"),
            delete(remove_member),
        )
        .merge(depot_http::object_roles::routes(BASE, &GROUP))
}

/// The policy of what is nested under a group.
const MEMBERS_VIEWSET: &str = "groups/users";

/// Group `id`, on which the caller may do `action`: not found unless they may see it,
/// forbidden unless the groups' policy allows it.
async fn allowed(state: &AppState, caller: &Caller, id: &str, action: &str) -> ApiResult<Group> {
    let g = group::get(&state.db, id).await?;
    caller
        .may(state, BASE, (&GROUP, id), action, vec![])
        .await?;
    Ok(g)
}

/// Group `id`, whose members the caller may `action` (`list`, `create`, `destroy`).
async fn members_allowed(
    state: &AppState,
    caller: &Caller,
    id: &str,
    action: &str,
) -> ApiResult<Group> {
    let g = group::get(&state.db, id).await?;
    let check = Check {
        action,
        object: Some(Object::new(&GROUP, id)),
        ..Check::default()
    };
    caller.authorize(state, MEMBERS_VIEWSET, check).await?;
    Ok(g)
}

/// A group to make, or its new name.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Group")]
pub struct GroupBody {
    /// Name
    pub name: String,
}

/// A new name for a group.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "PatchedGroup")]
#[allow(dead_code)] // read through the fields that were sent
pub struct PatchedGroupBody {
    pub name: Option<String>,
}

/// The user to put in a group.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "GroupUser")]
pub struct GroupUserBody {
    /// Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.
    pub username: String,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    caller.may_in(&state, BASE, "list", vec![]).await?;
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&group::TABLE);
    scoped_on(&mut q, caller.scope(&state, &GROUP).await?, "row_id")?;
    name_filters(&mut q, &query, "name")?;
    if let Some(n) = query.int("id")? {
        q.with(Filter::Is("id", Bind::Int(n)))?;
    }
    href_filters_on(&mut q, &query, &GROUP, "row_id")?;
    params.order(&mut q, &["id", "name", "pulp_created"], &[("name", false)])?;
    page_response(&state, &q, &params, &query, None, |r| {
        Group::from_row(r).map(|g| g.response())
    })
    .await
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    fields: Fields,
) -> ApiResult<Response> {
    caller.may_in(&state, BASE, "create", vec![]).await?;
    let body: GroupBody = fields.parse()?;
    let made = group::create(&state.db, &body.name).await?;
    caller
        .created(&state, &Object::new(&GROUP, &made.id))
        .await?;
    Ok(created(&made.response()))
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let g = allowed(&state, &caller, &id, "retrieve").await?;
    shaped(&query, &g.response())
}

/// PUT: the whole group (its name).
async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    allowed(&state, &caller, &id, "update").await?;
    let body: GroupBody = fields.parse()?;
    Ok(ok(&group::rename(&state.db, &id, &body.name)
        .await?
        .response()))
}

/// PATCH: the name, when sent.
async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    allowed(&state, &caller, &id, "partial_update").await?;
    let (_, raw) = fields.parse_patch::<PatchedGroupBody>()?;
    let g = match raw.get("name") {
        Some(Value::String(name)) => group::rename(&state.db, &id, name).await?,
        Some(_) => return Err(CoreError::field("name", "This field may not be null.").into()),
        None => group::get(&state.db, &id).await?,
    };
    Ok(ok(&g.response()))
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    allowed(&state, &caller, &id, "destroy").await?;
    group::delete(&state.db, &id).await?;
    state.grants.forget();
    Ok(no_content())
}

async fn members(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    members_allowed(&state, &caller, &id, "list").await?;
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&group::MEMBERS);
    q.with(Filter::Is("group", Bind::Text(id)))?;
    params.order(&mut q, &["username"], &[("username", false)])?;
    page_response(
        &state,
        &q,
        &params,
        &query,
        None,
        GroupUserResponse::from_row,
    )
    .await
}

async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    members_allowed(&state, &caller, &id, "create").await?;
    let body: GroupUserBody = fields.parse()?;
    let member = group::add_member(&state.db, &id, &body.username).await?;
    state.grants.forget();
    Ok(created(&member))
}

async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<Response> {
    members_allowed(&state, &caller, &id, "destroy").await?;
    group::remove_member(&state.db, &id, &user).await?;
    state.grants.forget();
    Ok(no_content())
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<GroupResponse>();
    let page = doc.paginated::<GroupResponse>();
    let req = doc.schema::<GroupBody>();
    let patched = doc.schema::<PatchedGroupBody>();
    let href = "group_href";
    let detail = format!("{{{href}}}");
    let p = || openapi::href_param(href);
    let filters = openapi::list_filters(
        &[
            "id",
            "name",
            "name__contains",
            "name__icontains",
            "name__iexact",
            "name__startswith",
        ],
        &["name__in", "pulp_href__in", "prn__in"],
    );
    openapi::add_crud(
        doc,
        openapi::Crud {
            base: BASE,
            href_param: href,
            prefix: "groups",
            tag: "Groups",
            filters,
            page,
            request: req,
            patched,
            create: Some((201, resp.clone())),
            response: resp,
            delete: true,
            async_op: None,
        },
    );
    let member = doc.schema::<GroupUserResponse>();
    let members = doc.paginated::<GroupUserResponse>();
    let add = doc.schema::<GroupUserBody>();
    let users_tag = "Groups: Users";
    doc.add(
        Op::new(
            "get",
            format!("{detail}users/"),
            "groups_users_list",
            users_tag,
        )
        .summary("List users of a group")
        .param(p())
        .params(openapi::list_filters(&[], &[]))
        .response(200, Some(members)),
    );
    doc.add(
        Op::new(
            "post",
            format!("{detail}users/"),
            "groups_users_create",
            users_tag,
        )
        .summary("Put a user in a group")
        .param(p())
        .body(add, JSON_FORM_MULTIPART)
        .response(201, Some(member)),
    );
    let member_href = "groups_user_href";
    doc.add(
        Op::new(
            "delete",
            format!("{{{member_href}}}"),
            "groups_users_delete",
            users_tag,
        )
        .summary("Take a user out of a group")
        .param(openapi::href_param(member_href))
        .response(204, None),
    );
    depot_http::object_roles::openapi(doc, "group_href", "groups", "Groups");
}

//! `users/`: the users who may sign in, as Pulp's user resource lists, makes, changes and
//! removes them (at once, without tasks).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::CoreResult;
use depot_core::hrefs::USER;
use depot_core::models::list::{Bind, Filter, ListQuery};
use depot_core::models::user::{self, NewUser, UserRecord, UserResponse};
use depot_http::list::{fetch_page, href_filters_on, name_filters};
use depot_http::openapi::{self, ApiDoc};
use depot_http::{
    ApiResult, AppState, Authenticated, Changes, Detail, Fields, ListParams, QueryMap, created,
    no_content, ok, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;

const BASE: &str = "/pulp/api/v3/users/";

pub fn routes() -> Router<AppState> {
    Router::new().route(BASE, get(list).post(create)).route(
        &format!("{BASE}{{id}}/"),
        get(read).put(update).patch(update).delete(delete),
    )
}

/// A user to make (or, with PUT, the whole of one).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read through the fields that were sent
pub struct User {
    /// Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.
    pub username: String,
    /// Users password. Set to ``null`` to disable password authentication.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Designates whether the user can log into this admin site.
    #[serde(default)]
    pub is_staff: Option<bool>,
    /// Designates whether this user should be treated as active.
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// Fields to change on a user.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read through the fields that were sent
pub struct PatchedUser {
    pub username: Option<String>,
    pub password: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub is_staff: Option<bool>,
    pub is_active: Option<bool>,
}

async fn list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&user::TABLE);
    for field in ["username", "first_name", "last_name", "email"] {
        name_filters(&mut q, &query, field)?;
    }
    for field in ["is_active", "is_staff"] {
        if let Some(v) = query.bool(field)? {
            q.with(Filter::Is(field, Bind::Bool(v)))?;
        }
    }
    href_filters_on(&mut q, &query, &USER, "row_id")?;
    let orderings = [
        "id",
        "username",
        "first_name",
        "last_name",
        "email",
        "date_joined",
    ];
    params.order(&mut q, &orderings, &[("date_joined", true)])?;
    let (count, rows) = fetch_page(&state, &q, &params, &query, None).await?;
    let users = rows
        .iter()
        .map(UserRecord::from_row)
        .collect::<CoreResult<Vec<_>>>()?;
    let results = user::responses(&state.db, &users)
        .await?
        .into_iter()
        .map(|u| serde_json::to_value(u).unwrap_or_default())
        .collect();
    Ok(ok(&params.page(&query, count, results)))
}

async fn create(
    State(state): State<AppState>,
    _: Authenticated,
    fields: Fields,
) -> ApiResult<Response> {
    let (body, raw) = fields.parse_full::<User>()?;
    user::check(&raw)?;
    let new = NewUser {
        username: body.username,
        password: body.password,
        first_name: body.first_name.unwrap_or_default(),
        last_name: body.last_name.unwrap_or_default(),
        email: body.email.unwrap_or_default(),
        is_staff: body.is_staff.unwrap_or(false),
        is_active: body.is_active.unwrap_or(true),
        is_superuser: false,
    };
    let made = user::create(&state.db, new).await?;
    Ok(created(&user::shown(&state.db, &made).await?))
}

async fn read(State(state): State<AppState>, Detail { id, query }: Detail) -> ApiResult<Response> {
    let found = user::get(&state.db, &id).await?;
    shaped(&query, &user::shown(&state.db, &found).await?)
}

/// PUT (the whole user) and PATCH.
async fn update(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    changes: Changes<User, PatchedUser>,
) -> ApiResult<Response> {
    let updated = user::update(&state.db, &id, &changes.fields).await?;
    // A changed password or a deactivated user takes effect at once in this process.
    state.auth_cache.forget();
    Ok(ok(&user::shown(&state.db, &updated).await?))
}

async fn delete(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    user::delete(&state.db, &id).await?;
    state.auth_cache.forget();
    state.grants.forget();
    Ok(no_content())
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<UserResponse>();
    let page = doc.paginated::<UserResponse>();
    let req = doc.schema::<User>();
    let patched = doc.schema::<PatchedUser>();
    let plain = [
        "username",
        "username__contains",
        "username__icontains",
        "username__iexact",
        "username__startswith",
        "first_name",
        "first_name__contains",
        "first_name__icontains",
        "first_name__iexact",
        "first_name__startswith",
        "last_name",
        "last_name__contains",
        "last_name__icontains",
        "last_name__iexact",
        "last_name__startswith",
        "email",
        "email__contains",
        "email__icontains",
        "email__iexact",
        "email__startswith",
        "is_active",
        "is_staff",
    ];
    let lists = [
        "username__in",
        "first_name__in",
        "last_name__in",
        "email__in",
        "pulp_href__in",
        "prn__in",
    ];
    openapi::add_crud(
        doc,
        openapi::Crud {
            base: BASE,
            href_param: "auth_user_href",
            prefix: "users",
            tag: "Users",
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

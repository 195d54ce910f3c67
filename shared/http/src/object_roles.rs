//! Pulp's role actions on one object (`RolesMixin`): `my_permissions/`, `list_roles/`,
//! `add_role/` and `remove_role/`, for every type whose policy names them.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use depot_core::CoreError;
use depot_core::access::{self, Object};
use depot_core::hrefs::Kind;
use depot_core::models::role_assignment;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};
use crate::{ApiResult, AppState, Caller, Fields, created, ok};

/// The role actions under `base` (a collection path) for objects of `kind`.
pub fn routes(base: &str, kind: Kind) -> Router<AppState> {
    let path = |action: &str| format!("{base}{{id}}/{action}/");
    let base: Arc<str> = base.into();
    let (b1, b2, b3) = (base.clone(), base.clone(), base.clone());
    Router::new()
        .route(
            &path("my_permissions"),
            get(move |s, c, p| my_permissions(b1, kind, s, c, p)),
        )
        .route(
            &path("list_roles"),
            get(move |s, c, p| list_roles(b2, kind, s, c, p)),
        )
        .route(
            &path("add_role"),
            post(move |s, c, p, f| change_role(b3, kind, true, s, c, p, f)),
        )
        .route(
            &path("remove_role"),
            post(move |s, c, p, f| change_role(base, kind, false, s, c, p, f)),
        )
}

/// A role to give to (or take from) users and groups on one object.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NestedRole {
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    pub role: String,
}

/// The permissions the caller holds on one object.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MyPermissions {
    pub permissions: Vec<String>,
}

/// The roles given on one object.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ObjectRoles {
    pub roles: Vec<role_assignment::ObjectRole>,
}

/// The object `id` of `kind`: it exists and the caller may see it (else 404), and the policy
/// of `base` lets the caller do `action` on it (else 403).
async fn allowed(
    state: &AppState,
    caller: &Caller,
    base: &str,
    kind: Kind,
    id: String,
    action: &str,
) -> ApiResult<Object> {
    let object = Object::new(kind, id);
    if !role_assignment::exists(&state.db, &object).await? {
        let model = kind.prn_model.split_once('.').map_or("", |(_, m)| m);
        return Err(CoreError::not_found(model).into());
    }
    caller
        .may(state, base, (kind, &object.id), action, vec![])
        .await?;
    Ok(object)
}

async fn my_permissions(
    base: Arc<str>,
    kind: Kind,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let object = allowed(&state, &caller, &base, kind, id, "my_permissions").await?;
    let permissions = match caller.user.is_superuser {
        true => access::permissions_on(kind.prn_model),
        false => caller
            .grants
            .on_object(&state.db, &object)
            .await?
            .into_iter()
            .collect(),
    };
    Ok(ok(&MyPermissions { permissions }))
}

async fn list_roles(
    base: Arc<str>,
    kind: Kind,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let object = allowed(&state, &caller, &base, kind, id, "list_roles").await?;
    let roles = role_assignment::of_object(&state.db, &object).await?;
    Ok(ok(&ObjectRoles { roles }))
}

async fn change_role(
    base: Arc<str>,
    kind: Kind,
    assign: bool,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let action = if assign { "add_role" } else { "remove_role" };
    let object = allowed(&state, &caller, &base, kind, id, action).await?;
    let body: NestedRole = fields.parse()?;
    role_assignment::change_object_role(
        &state.db,
        &object,
        &body.role,
        &body.users,
        &body.groups,
        assign,
    )
    .await?;
    Ok(created(
        &json!({"users": body.users, "groups": body.groups, "role": body.role}),
    ))
}

/// The four actions of `href_param`'s objects in the OpenAPI document, with Pulp's ids
/// (`<prefix>_my_permissions`, `<prefix>_list_roles`, ...).
pub fn openapi(doc: &mut ApiDoc, href_param: &str, prefix: &str, tag: &'static str) {
    let nested = doc.schema::<NestedRole>();
    let mine = doc.schema::<MyPermissions>();
    let roles = doc.schema::<ObjectRoles>();
    let path = |action: &str| format!("{{{href_param}}}{action}/");
    let op = |method: &'static str, action: &str| {
        Op::new(method, path(action), format!("{prefix}_{action}"), tag)
            .param(openapi::href_param(href_param))
    };
    doc.add(
        op("get", "my_permissions")
            .summary("List user permissions")
            .response(200, Some(mine)),
    );
    doc.add(
        op("get", "list_roles")
            .summary("List roles")
            .response(200, Some(roles)),
    );
    for (action, summary) in [("add_role", "Add a role"), ("remove_role", "Remove a role")] {
        doc.add(
            op("post", action)
                .summary(summary)
                .body(nested.clone(), JSON_FORM_MULTIPART)
                .response(201, Some(nested.clone())),
        );
    }
}

//! `users/<id>/roles/` and `groups/<id>/roles/`: the roles given to a user or a group, for a
//! whole model or for one object, written once for both holders.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::hrefs::{self, DOMAIN};
use depot_core::models::list::{Bind, Filter, ListQuery};
use depot_core::models::role_assignment::{
    self as assignment, Assignment, AssignmentResponse, Holder,
};
use depot_core::models::{domain, group, user};
use depot_core::{CoreError, CoreResult, plugin};
use depot_http::list::{fetch_page, name_filters};
use depot_http::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};
use depot_http::{
    ApiResult, AppState, Authenticated, Fields, ListParams, QueryMap, created, no_content, ok,
    shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// The two holders of roles: their collection and how a holder is found.
#[derive(Clone, Copy)]
enum Holders {
    Users,
    Groups,
}

impl Holders {
    fn base(self) -> &'static str {
        match self {
            Holders::Users => "/pulp/api/v3/users/",
            Holders::Groups => "/pulp/api/v3/groups/",
        }
    }

    /// The holder `id`, which must exist.
    async fn find(self, state: &AppState, id: &str) -> CoreResult<Holder> {
        match self {
            Holders::Users => Ok(Holder::User(user::get(&state.db, id).await?.id)),
            Holders::Groups => Ok(Holder::Group(group::get(&state.db, id).await?.id)),
        }
    }
}

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for holders in [Holders::Users, Holders::Groups] {
        let base = holders.base();
        router = router
            .route(
                &format!("{base}{{id}}/roles/"),
                get(move |s, a, p, q| list(holders, s, a, p, q))
                    .post(move |s, a, p, f| create(holders, s, a, p, f)),
            )
            .route(
                &format!("{base}{{id}}/roles/{{role}}/"),
                get(move |s, a, p, q| read(holders, s, a, p, q))
                    .delete(move |s, a, p| delete(holders, s, a, p)),
            );
    }
    router
}

/// A role to give.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "NestedRole")]
#[allow(dead_code)] // read through the fields that were sent
pub struct RoleGrant {
    pub role: String,
    /// pulp_href of the object for which role permissions should be asserted. If set to
    /// 'null', permissions will act on either domain or model-level.
    #[serde(default)]
    pub content_object: Option<String>,
    /// prn of the object for which role permissions should be asserted. If set to 'null',
    /// permissions will act on either domain or model-level.
    #[serde(default)]
    pub content_object_prn: Option<String>,
    /// Domain this role should be applied on, mutually exclusive with content_object.
    #[serde(default)]
    pub domain: Option<String>,
}

async fn list(
    holders: Holders,
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let holder = holders.find(&state, &id).await?;
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&assignment::TABLE);
    let (field, holder_id) = holder.field();
    q.with(Filter::Is(field, Bind::Text(holder_id.to_string())))?;
    name_filters(&mut q, &query, "role")?;
    if let Some(reference) = query.get("content_object") {
        if reference == "null" {
            q.with(Filter::Null("object_id", true))?;
        } else {
            let object = plugin::resource_types()
                .find_map(|k| k.parse_ref(reference).map(|id| (k, id)))
                .ok_or_else(|| {
                    CoreError::field(
                        "content_object",
                        format!("Invalid value for 'content_object': {reference}."),
                    )
                })?;
            q.with(Filter::Is(
                "object_type",
                Bind::Text(object.0.prn_model.into()),
            ))?;
            q.with(Filter::Is("object_id", Bind::Text(object.1)))?;
        }
    }
    params.order(
        &mut q,
        &["role", "description", "pulp_created"],
        &[("pulp_created", true)],
    )?;
    let (count, rows) = fetch_page(&state, &q, &params, &query, None).await?;
    let found = rows
        .iter()
        .map(Assignment::from_row)
        .collect::<CoreResult<_>>()?;
    let results = assignment::with_permissions(&state.db, found)
        .await?
        .iter()
        .map(|a| serde_json::to_value(a.response()).unwrap_or_default())
        .collect();
    Ok(ok(&params.page(&query, count, results)))
}

async fn create(
    holders: Holders,
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let holder = holders.find(&state, &id).await?;
    let (body, raw) = fields.parse_full::<RoleGrant>()?;
    let reference = match (raw.get("content_object"), raw.get("content_object_prn")) {
        (None, None) => {
            return Err(CoreError::invalid(
                "Either 'content_object' or 'content_object_prn' needs to be specified. \
                 Use 'null' for global or domain level access.",
            )
            .into());
        }
        (Some(Value::String(href)), _) => Some(("content_object", href.as_str())),
        (_, Some(Value::String(prn))) => Some(("content_object_prn", prn.as_str())),
        _ => None,
    };
    let domain = match &body.domain {
        Some(reference) => {
            let id = hrefs::resolve(&DOMAIN, "domain", reference)?;
            domain::get(&state.db, &id)
                .await
                .map_err(|_| hrefs::missing("domain", reference))?;
            Some(id)
        }
        None => None,
    };
    let object = match reference {
        Some((field, r)) => Some(assignment::resolve_object(&state.db, field, r).await?),
        None => None,
    };
    let made = assignment::create(
        &state.db,
        &holder,
        &body.role,
        object.as_ref(),
        domain.as_deref(),
    )
    .await?;
    state.grants.forget();
    Ok(created(&made.response()))
}

async fn read(
    holders: Holders,
    State(state): State<AppState>,
    _: Authenticated,
    Path((id, role)): Path<(String, String)>,
    query: QueryMap,
) -> ApiResult<Response> {
    let holder = holders.find(&state, &id).await?;
    shaped(
        &query,
        &assignment::get(&state.db, &holder, &role).await?.response(),
    )
}

async fn delete(
    holders: Holders,
    State(state): State<AppState>,
    _: Authenticated,
    Path((id, role)): Path<(String, String)>,
) -> ApiResult<Response> {
    let holder = holders.find(&state, &id).await?;
    assignment::delete(&state.db, &holder, &role).await?;
    state.grants.forget();
    Ok(no_content())
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<AssignmentResponse>();
    let page = doc.paginated::<AssignmentResponse>();
    let req = doc.schema::<RoleGrant>();
    let filters = openapi::list_filters(
        &[
            "role",
            "role__contains",
            "role__icontains",
            "role__startswith",
            "content_object",
            "domain",
        ],
        &["role__in"],
    );
    // The parameter names are Pulp's, which pulp-glue looks them up by.
    for (holder_href, detail_param, prefix, tag) in [
        (
            "auth_user_href",
            "auth_users_user_role_href",
            "users_roles",
            "Users: Roles",
        ),
        (
            "group_href",
            "groups_group_role_href",
            "groups_roles",
            "Groups: Roles",
        ),
    ] {
        let collection = format!("{{{holder_href}}}roles/");
        let holder = || openapi::href_param(holder_href);
        doc.add(
            Op::new("get", collection.clone(), format!("{prefix}_list"), tag)
                .summary("List roles")
                .param(holder())
                .params(filters.clone())
                .response(200, Some(page.clone())),
        );
        doc.add(
            Op::new("post", collection, format!("{prefix}_create"), tag)
                .summary("Create a role")
                .param(holder())
                .body(req.clone(), JSON_FORM_MULTIPART)
                .response(201, Some(resp.clone())),
        );
        let detail = format!("{{{detail_param}}}");
        doc.add(
            Op::new("get", detail.clone(), format!("{prefix}_read"), tag)
                .summary("Inspect a role")
                .param(openapi::href_param(detail_param))
                .response(200, Some(resp.clone())),
        );
        doc.add(
            Op::new("delete", detail, format!("{prefix}_delete"), tag)
                .summary("Delete a role")
                .param(openapi::href_param(detail_param))
                .response(204, None),
        );
    }
}

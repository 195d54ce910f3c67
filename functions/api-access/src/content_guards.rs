//! `contentguards/`: every guard, and each type's own collection (`contentguards/core/rbac/`,
//! `header/`, `envvar_header/`, `content_redirect/`, `composite/`, `certguard/x509/`) with its
//! role actions, under Pulp's policies.
//! Changes are made at once, without tasks, as in Pulp; the content app enforces them.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::access::Object;
use depot_core::hrefs::{
    COMPOSITE_GUARD, ENVVAR_GUARD, GROUP, HEADER_GUARD, Kind, RBAC_GUARD, REDIRECT_GUARD, USER,
    X509_GUARD,
};
use depot_core::models::content_guard::{self, Guard, GuardFields, GuardResponse};
use depot_core::models::list::{Bind, Filter, ListQuery};
use depot_core::models::role_assignment;
use depot_core::plugin::{self, Family};
use depot_core::{CoreError, CoreResult};
use depot_http::expression::{self, GENERIC_FILTERS};
use depot_http::list::{family_scope, fetch_page, href_filters, href_filters_any, name_filters};
use depot_http::openapi::{self, ApiDoc};
use depot_http::{
    ApiResult, AppState, Caller, Fields, ListParams, QueryMap, created, no_content, ok, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

const ALL: &str = "/pulp/api/v3/contentguards/";

/// A guard type as its API shows it: its collection and OpenAPI names.
struct GuardType {
    kind: Kind,
    base: &'static str,
    href_param: &'static str,
    prefix: &'static str,
    tag: &'static str,
}

/// The guard types, with Pulp's paths and OpenAPI names.
const TYPES: [GuardType; 6] = [
    GuardType {
        kind: &RBAC_GUARD,
        base: "/pulp/api/v3/contentguards/core/rbac/",
        href_param: "r_b_a_c_content_guard_href",
        prefix: "contentguards_core_rbac",
        tag: "Contentguards: Rbac",
    },
    GuardType {
        kind: &REDIRECT_GUARD,
        base: "/pulp/api/v3/contentguards/core/content_redirect/",
        href_param: "content_redirect_content_guard_href",
        prefix: "contentguards_core_content_redirect",
        tag: "Contentguards: Content Redirect",
    },
    GuardType {
        kind: &HEADER_GUARD,
        base: "/pulp/api/v3/contentguards/core/header/",
        href_param: "header_content_guard_href",
        prefix: "contentguards_core_header",
        tag: "Contentguards: Header",
    },
    GuardType {
        kind: &ENVVAR_GUARD,
        base: "/pulp/api/v3/contentguards/core/envvar_header/",
        href_param: "env_var_header_content_guard_href",
        prefix: "contentguards_core_envvar_header",
        tag: "Contentguards: Envvar_Header",
    },
    GuardType {
        kind: &COMPOSITE_GUARD,
        base: "/pulp/api/v3/contentguards/core/composite/",
        href_param: "composite_content_guard_href",
        prefix: "contentguards_core_composite",
        tag: "Contentguards: Composite",
    },
    GuardType {
        kind: &X509_GUARD,
        base: "/pulp/api/v3/contentguards/certguard/x509/",
        href_param: "certguard_x509_cert_guard_href",
        prefix: "contentguards_certguard_x509",
        tag: "Contentguards: X509",
    },
];

pub fn routes() -> Router<AppState> {
    let mut router = Router::new().route(ALL, get(list_all));
    for GuardType { kind, base, .. } in TYPES {
        router = router
            .route(
                base,
                get(move |s, c, q| list(kind, s, c, q)).post(move |s, c, f| create(kind, s, c, f)),
            )
            .route(
                &format!("{base}{{id}}/"),
                get(move |s, c, p, q| read(kind, s, c, p, q))
                    .patch(move |s, c, p, f| update(kind, false, s, c, p, f))
                    .put(move |s, c, p, f| update(kind, true, s, c, p, f))
                    .delete(move |s, c, p| delete(kind, s, c, p)),
            )
            .merge(depot_http::object_roles::routes(base, kind));
    }
    router
}

/// A guard of any type (the fields each takes are checked by type).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read through the fields that were sent
pub struct ContentGuardBody {
    /// The unique name.
    pub name: Option<String>,
    /// An optional description.
    pub description: Option<String>,
    /// Header guards: the header to read.
    pub header_name: Option<String>,
    /// Header guards: the value it must have.
    pub header_value: Option<String>,
    /// Header guards: a filter of the header's base64 JSON that yields the value.
    pub jq_filter: Option<String>,
    /// Composite guards: the guards to ask, any of which lets a request through.
    pub guards: Option<Vec<String>>,
    /// X.509 guards: the CA certificates (PEM) whose client certificates pass.
    pub ca_certificate: Option<String>,
    /// Environment-variable header guards: the variable whose value the header must carry,
    /// base64-encoded (one of `PULP_ENVVAR_HEADER_CONTENT_GUARD_ALLOWED_VARS`).
    pub env_var: Option<String>,
}

/// The fields each type takes, besides `name` and `description`.
fn own_fields(kind: Kind) -> &'static [&'static str] {
    if kind == &HEADER_GUARD {
        &["header_name", "header_value", "jq_filter"]
    } else if kind == &COMPOSITE_GUARD {
        &["guards"]
    } else if kind == &X509_GUARD {
        &["ca_certificate"]
    } else if kind == &ENVVAR_GUARD {
        &["header_name", "env_var"]
    } else {
        &[]
    }
}

/// What was sent, checked against the type: its fields only, `name` (and a header guard's
/// header and value) required when `whole`.
fn fields_of(kind: Kind, raw: &Map<String, Value>, whole: bool) -> CoreResult<GuardFields> {
    for k in raw.keys() {
        if !["name", "description"].contains(&k.as_str()) && !own_fields(kind).contains(&k.as_str())
        {
            return Err(CoreError::field(k, "Unexpected field"));
        }
    }
    let mut required = vec!["name"];
    if kind == &HEADER_GUARD {
        required.extend(["header_name", "header_value"]);
    }
    if kind == &X509_GUARD {
        required.push("ca_certificate");
    }
    if kind == &ENVVAR_GUARD {
        required.extend(["header_name", "env_var"]);
    }
    if whole && let Some(missing) = required.iter().find(|f| !raw.contains_key(**f)) {
        return Err(CoreError::field(missing, "This field is required."));
    }
    let text = |f: &str| -> CoreResult<Option<String>> {
        match raw.get(f) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(CoreError::field(f, "This field may not be null.")),
        }
    };
    let nullable = |f: &str| raw.get(f).map(|v| v.as_str().map(str::to_string));
    let guards = match raw.get("guards") {
        None => None,
        Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => {
            let mut ids = Vec::new();
            for item in items {
                let href = item.as_str().unwrap_or_default();
                let id = plugin::of_family(Family::ContentGuard)
                    .find_map(|k| k.parse_ref(href))
                    .ok_or_else(|| depot_core::hrefs::unresolved("guards", href))?;
                ids.push(id);
            }
            Some(ids)
        }
        Some(_) => return Err(CoreError::field("guards", "Expected a list of items.")),
    };
    Ok(GuardFields {
        name: text("name")?,
        description: nullable("description"),
        header_name: text("header_name")?,
        header_value: text("header_value")?,
        jq_filter: nullable("jq_filter"),
        guards,
        ca_certificate: text("ca_certificate")?,
        env_var: text("env_var")?,
    })
}

/// [`fields_of`], with the variable an environment-variable guard names checked against the
/// deployment's list.
fn checked(
    state: &AppState,
    kind: Kind,
    raw: &Map<String, Value>,
    whole: bool,
) -> CoreResult<GuardFields> {
    let fields = fields_of(kind, raw, whole)?;
    if let Some(var) = &fields.env_var {
        content_guard::envvar::allowed(var, &state.settings.envvar_guard_vars)?;
    }
    Ok(fields)
}

/// A guard as its type shows it.
async fn shown(state: &AppState, g: &Guard) -> CoreResult<GuardResponse> {
    let mut extra = Map::new();
    let kind = g.kind;
    if kind == &RBAC_GUARD {
        let object = Object::new(kind, &g.id);
        let (users, groups) =
            role_assignment::holders_with(&state.db, &object, "core.download_rbaccontentguard")
                .await?;
        let users: Vec<Value> = users
            .iter()
            .map(|(id, name)| json!({"username": name, "pulp_href": USER.href(id), "prn": USER.prn(id)}))
            .collect();
        let groups: Vec<Value> = groups
            .iter()
            .map(|(id, name)| json!({"name": name, "pulp_href": GROUP.href(id), "prn": GROUP.prn(id)}))
            .collect();
        extra.insert("users".into(), json!(users));
        extra.insert("groups".into(), json!(groups));
    } else if kind == &HEADER_GUARD {
        extra.insert("header_name".into(), json!(g.header_name));
        extra.insert("header_value".into(), json!(g.header_value));
        extra.insert("jq_filter".into(), json!(g.jq_filter));
    } else if kind == &X509_GUARD {
        extra.insert("ca_certificate".into(), json!(g.ca_certificate));
    } else if kind == &ENVVAR_GUARD {
        // The secret itself is the server's: never stored, never shown.
        extra.insert("header_name".into(), json!(g.header_name));
        extra.insert("env_var".into(), json!(g.env_var));
    } else if kind == &COMPOSITE_GUARD {
        let members = content_guard::member_hrefs(&state.db, std::slice::from_ref(&g.id)).await?;
        extra.insert(
            "guards".into(),
            json!(members.get(&g.id).cloned().unwrap_or_default()),
        );
    }
    Ok(g.response(extra))
}

/// Guard `id` of `kind`, on which the caller may do `action`.
async fn allowed(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    id: &str,
    action: &str,
) -> ApiResult<Guard> {
    let g = content_guard::get_of_type(&state.db, id, kind).await?;
    caller
        .may(state, kind.collection, (kind, id), action, vec![])
        .await?;
    Ok(g)
}

/// Filters every guard list takes.
/// The filters of a guard list (of one type, or of all with `kind` `None`), with Pulp's `q`
/// expressions over them.
fn filters(q: &mut ListQuery, query: &QueryMap, kind: Option<Kind>) -> CoreResult<()> {
    let plain = |q: &mut ListQuery, query: &QueryMap| -> CoreResult<()> {
        name_filters(q, query, "name")?;
        match kind {
            Some(k) => href_filters(q, query, k),
            None => href_filters_any(q, query, Family::ContentGuard),
        }
    };
    plain(q, query)?;
    // The type filters (the last two) are the list of every type's only.
    let keys = match kind {
        Some(_) => &GENERIC_FILTERS[..GENERIC_FILTERS.len() - 2],
        None => GENERIC_FILTERS,
    };
    expression::apply(q, query, &content_guard::TABLE, keys, plain)
}

async fn page(state: &AppState, q: &ListQuery, query: &QueryMap) -> ApiResult<Response> {
    let params = ListParams::from_query(query)?;
    let mut q = q.clone();
    params.order(
        &mut q,
        &["name", "pulp_created", "pulp_last_updated"],
        &[("name", false)],
    )?;
    let (count, rows) = fetch_page(state, &q, &params, query, None).await?;
    let mut results = Vec::new();
    for r in &rows {
        let g = Guard::from_row(r)?;
        results.push(serde_json::to_value(shown(state, &g).await?).unwrap_or_default());
    }
    Ok(ok(&params.page(query, count, results)))
}

async fn list(
    kind: Kind,
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    caller
        .may_in(&state, kind.collection, "list", vec![])
        .await?;
    let mut q = ListQuery::of(&content_guard::TABLE);
    q.with(Filter::Is("pulp_type", Bind::Text(kind.pulp_type.into())))?;
    if let Some(grantee) = caller.scope(&state, kind).await? {
        q.with(Filter::Granted("id", grantee))?;
    }
    filters(&mut q, &query, Some(kind))?;
    page(&state, &q, &query).await
}

/// Every guard the caller may see, each type scoped by its own view permission.
async fn list_all(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    let mut q = ListQuery::of(&content_guard::TABLE);
    q.with(family_scope(&state, &caller, Family::ContentGuard).await?)?;
    filters(&mut q, &query, None)?;
    page(&state, &q, &query).await
}

async fn create(
    kind: Kind,
    State(state): State<AppState>,
    caller: Caller,
    fields: Fields,
) -> ApiResult<Response> {
    caller
        .may_in(&state, kind.collection, "create", vec![])
        .await?;
    let (_, raw) = fields.parse_full::<ContentGuardBody>()?;
    let made = content_guard::create(&state.db, kind, checked(&state, kind, &raw, true)?).await?;
    caller.created(&state, &Object::new(kind, &made.id)).await?;
    Ok(created(&shown(&state, &made).await?))
}

async fn read(
    kind: Kind,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let g = allowed(&state, &caller, kind, &id, "retrieve").await?;
    shaped(&query, &shown(&state, &g).await?)
}

async fn update(
    kind: Kind,
    whole: bool,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let action = if whole { "update" } else { "partial_update" };
    let g = allowed(&state, &caller, kind, &id, action).await?;
    let (_, raw) = fields.parse_patch::<ContentGuardBody>()?;
    let changed = content_guard::update(&state.db, &g, checked(&state, kind, &raw, whole)?).await?;
    Ok(ok(&shown(&state, &changed).await?))
}

async fn delete(
    kind: Kind,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    allowed(&state, &caller, kind, &id, "destroy").await?;
    content_guard::delete(&state.db, &id).await?;
    Ok(no_content())
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<GuardResponse>();
    let page = doc.paginated::<GuardResponse>();
    let req = doc.schema::<ContentGuardBody>();
    let plain = [
        "name",
        "name__contains",
        "name__icontains",
        "name__iexact",
        "name__startswith",
        "q",
    ];
    let csv = ["name__in", "pulp_href__in", "prn__in", "pulp_id__in"];
    let filters = openapi::list_filters(&plain, &csv);
    let every_type = openapi::list_filters(
        &[&plain[..], &["pulp_type"]].concat(),
        &[&csv[..], &["pulp_type__in"]].concat(),
    );
    doc.add(
        openapi::Op::new("get", ALL, "contentguards_list", "Contentguards")
            .summary("List content guards")
            .params(every_type)
            .response(200, Some(page.clone())),
    );
    for t in TYPES {
        openapi::add_crud(
            doc,
            openapi::Crud {
                base: t.base,
                href_param: t.href_param,
                prefix: t.prefix,
                tag: t.tag,
                filters: filters.clone(),
                page: page.clone(),
                request: req.clone(),
                patched: req.clone(),
                create: Some((201, resp.clone())),
                response: resp.clone(),
                delete: true,
                async_op: None,
            },
        );
        depot_http::object_roles::openapi(doc, t.href_param, t.prefix, t.tag);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_base_is_its_types_collection() {
        for t in super::TYPES {
            assert_eq!(
                t.base,
                format!("{}{}", depot_core::hrefs::API_ROOT, t.kind.collection)
            );
        }
    }
}

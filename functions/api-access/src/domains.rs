//! `domains/`: the tenants' namespaces, as Pulp serves them. A create answers at once; an
//! update or a delete runs as a task (a delete waits for the domain's running tasks, since
//! every task holds its domain), and an update that changes nothing answers 200 without one.
//! The `default` domain can be neither changed nor deleted.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use depot_core::CoreError;
use depot_core::access::Object;
use depot_core::hrefs::DOMAIN;
use depot_core::labels::Labeled;
use depot_core::models::AsyncOperationResponse;
use depot_core::models::domain::{self, DomainResponse};
use depot_core::models::list::ListQuery;
use depot_core::tasks::args::{DomainDelete, DomainMigrate, DomainUpdate};
use depot_core::tasks::{Dispatch, TaskContext, TaskFuture, TaskRegistry};
use depot_http::list::{href_filters_on, name_filters, page_response, scoped_on};
use depot_http::openapi::{self, ApiDoc};
use depot_http::{
    ApiResult, AppState, Caller, Changes, CorrelationId, Fields, ListParams, QueryMap, created,
    dispatched, ok, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

const BASE: &str = "/pulp/api/v3/domains/";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}migrate/"), post(migrate))
        .route(
            &format!("{BASE}{{id}}/"),
            get(read).put(update).patch(update).delete(remove),
        )
        .merge(depot_http::object_roles::routes(BASE, &DOMAIN))
        .merge(depot_http::labels::routes(BASE, Labeled::Domain, &DOMAIN))
}

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(run_update);
    reg.register(run_delete);
    reg.register(run_migrate);
}

/// A domain to make (or, with PUT, the whole of one).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Domain")]
#[allow(dead_code)] // read through the fields that were sent
pub struct DomainBody {
    /// A name for this domain.
    pub name: String,
    /// An optional description.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub pulp_labels: Option<Map<String, Value>>,
    /// Backend storage class for domain.
    pub storage_class: String,
    /// Settings for storage class.
    pub storage_settings: Value,
    /// Boolean to have the content app redirect to object storage.
    #[serde(default)]
    pub redirect_to_object_storage: Option<bool>,
    /// Boolean to hide distributions with a content guard in the content app.
    #[serde(default)]
    pub hide_guarded_distributions: Option<bool>,
    /// A content guard of this domain, given to the distributions made in it without one
    /// (set on an existing domain only).
    #[serde(default)]
    pub default_content_guard: Option<String>,
}

/// Some of a domain's fields.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "PatchedDomain")]
#[allow(dead_code)] // read through the fields that were sent
pub struct PatchedDomainBody {
    pub name: Option<String>,
    pub description: Option<String>,
    pub pulp_labels: Option<Map<String, Value>>,
    pub storage_class: Option<String>,
    pub storage_settings: Option<Value>,
    pub redirect_to_object_storage: Option<bool>,
    pub hide_guarded_distributions: Option<bool>,
    pub default_content_guard: Option<String>,
}

/// Domain `id`, on which the caller may do `action`: not found unless they may see it,
/// forbidden unless the domains' policy allows it.
async fn allowed(
    state: &AppState,
    caller: &Caller,
    id: &str,
    action: &str,
) -> ApiResult<domain::Domain> {
    let d = domain::get(&state.db, id).await?;
    caller
        .may(state, BASE, (&DOMAIN, id), action, vec![])
        .await?;
    Ok(d)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    caller.may_in(&state, BASE, "list", vec![]).await?;
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&domain::TABLE);
    scoped_on(&mut q, caller.scope(&state, &DOMAIN).await?, "id")?;
    name_filters(&mut q, &query, "name")?;
    href_filters_on(&mut q, &query, &DOMAIN, "id")?;
    params.order(
        &mut q,
        &["name", "pulp_created", "pulp_last_updated"],
        &[("name", false)],
    )?;
    page_response(&state, &q, &params, &query, Some("pulp_labels"), |r| {
        domain::from_row(&state.db, r).map(|d| d.response(&state.settings))
    })
    .await
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    fields: Fields,
) -> ApiResult<Response> {
    caller.may_in(&state, BASE, "create", vec![]).await?;
    let (_, sent) = fields.parse_full::<DomainBody>()?;
    let checked = domain::checked(&state.db, None, &sent)
        .await?
        .ok_or_else(|| CoreError::Internal("a new domain without fields".into()))?;
    let made = domain::create(&state.db, &checked).await?;
    caller
        .created(&state, &Object::new(&DOMAIN, &made.id))
        .await?;
    state.domains.forget();
    Ok(created(&made.response(&state.settings)))
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let d = allowed(&state, &caller, &id, "retrieve").await?;
    shaped(&query, &d.response(&state.settings))
}

/// PUT and PATCH: a task that writes the new fields, unless they change nothing.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path(id): Path<String>,
    changes: Changes<DomainBody, PatchedDomainBody>,
) -> ApiResult<Response> {
    let action = if changes.whole {
        "update"
    } else {
        "partial_update"
    };
    let d = allowed(&state, &caller, &id, action).await?;
    if d.is_default() {
        return Err(
            CoreError::Invalid(serde_json::json!(["Default domain can not be updated."])).into(),
        );
    }
    let Some(fields) = domain::checked(&state.db, Some(&d), &changes.fields).await? else {
        return Ok(ok(&d.response(&state.settings)));
    };
    let d = Dispatch::new(
        "pulpcore.app.tasks.base.general_update",
        &DomainUpdate {
            id: id.clone(),
            fields,
        },
    )
    .exclusive(vec![DOMAIN.prn(&id)])
    .immediate()
    .requested_by(&caller.user.id, &cid.0);
    dispatched(&state, d).await
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let d = allowed(&state, &caller, &id, "destroy").await?;
    if d.is_default() {
        return Err(
            CoreError::Invalid(serde_json::json!(["Default domain can not be deleted."])).into(),
        );
    }
    let d = Dispatch::new(
        "pulpcore.app.tasks.base.general_delete",
        &DomainDelete { id: id.clone() },
    )
    .exclusive(vec![DOMAIN.prn(&id)])
    .immediate()
    .requested_by(&caller.user.id, &cid.0);
    dispatched(&state, d).await
}

/// A new storage backend for the domain in force.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "DomainBackendMigrator")]
#[allow(dead_code)] // read through the fields that were sent
pub struct MigrateBody {
    /// The new backend storage class to migrate to.
    pub storage_class: String,
    /// The settings for the new storage class to migrate to.
    pub storage_settings: Value,
}

/// `domains/migrate/`: a task copies the domain in force's files to the storage the body names
/// (checked as Pulp checks it), then records that the domain keeps them there.
async fn migrate(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    fields: Fields,
) -> ApiResult<Response> {
    let id = depot_core::domain::id().to_string();
    let d = allowed(&state, &caller, &id, "migrate").await?;
    if d.is_default() {
        return Err(
            CoreError::Invalid(serde_json::json!(["Default domain can not be migrated."])).into(),
        );
    }
    let (body, _) = fields.parse_full::<MigrateBody>()?;
    let settings = domain::checked_storage(&body.storage_class, &body.storage_settings)?;
    depot_core::storage::domains::check_usable(&body.storage_class, &settings).await?;
    let args = DomainMigrate {
        storage_class: body.storage_class,
        sealed_settings: domain::seal(&state.db, &settings)?,
    };
    // Nothing else runs in the domain meanwhile: every task holds its domain.
    let d = Dispatch::new("pulpcore.app.tasks.migrate.migrate_backend", &args)
        .exclusive(vec![depot_core::domain::prn()])
        .requested_by(&caller.user.id, &cid.0);
    dispatched(&state, d).await
}

fn run_migrate(ctx: TaskContext, args: DomainMigrate) -> TaskFuture {
    Box::pin(async move {
        let settings = domain::unseal(&ctx.core.db, &args.sealed_settings)?;
        depot_core::storage::domains::migrate(
            &ctx.core,
            &ctx.progress,
            &args.storage_class,
            &settings,
        )
        .await?;
        Ok(None)
    })
}

fn run_update(ctx: TaskContext, args: DomainUpdate) -> TaskFuture {
    Box::pin(async move {
        domain::update(&ctx.core.db, &args.id, &args.fields).await?;
        ctx.core.domains.forget();
        ctx.core.storage.forget(&args.id);
        let d = domain::get(&ctx.core.db, &args.id).await?;
        Ok(serde_json::to_value(d.response(&ctx.core.settings)).ok())
    })
}

fn run_delete(ctx: TaskContext, args: DomainDelete) -> TaskFuture {
    Box::pin(async move {
        domain::delete(&ctx.core.db, &args.id).await?;
        ctx.core.domains.forget();
        ctx.core.storage.forget(&args.id);
        ctx.core.grants.forget();
        Ok(None)
    })
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<DomainResponse>();
    let page = doc.paginated::<DomainResponse>();
    let request = doc.schema::<DomainBody>();
    let patched = doc.schema::<PatchedDomainBody>();
    let task = doc.schema::<AsyncOperationResponse>();
    let filters = openapi::list_filters(
        &[
            "name",
            "name__contains",
            "name__icontains",
            "name__iexact",
            "name__startswith",
            "pulp_label_select",
        ],
        &["name__in", "pulp_href__in", "prn__in"],
    );
    openapi::add_crud(
        doc,
        openapi::Crud {
            base: BASE,
            href_param: "domain_href",
            prefix: "domains",
            tag: "Domains",
            filters,
            page,
            request,
            patched,
            create: Some((201, resp.clone())),
            response: resp,
            delete: true,
            async_op: Some(task),
        },
    );
    let migrator = doc.schema::<MigrateBody>();
    let task = doc.schema::<AsyncOperationResponse>();
    doc.add(
        openapi::Op::new(
            "post",
            format!("{BASE}migrate/"),
            "domains_migrate",
            "Domains",
        )
        .summary("Migrate storage backend")
        .body(migrator, openapi::JSON_FORM_MULTIPART)
        .response(202, Some(task)),
    );
    depot_http::object_roles::openapi(doc, "domain_href", "domains", "Domains");
    depot_http::labels::openapi(doc, "domain_href", "domains", "Domains");
}

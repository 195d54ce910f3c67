//! Remotes of every type the plugins have (`remotes/<plugin>/<type>/`): list, create, read,
//! update, delete and labels, written once over [`RemoteType`]; and the alternate content
//! sources made of them (`acs/<plugin>/<type>/`, in `acs.rs`).

mod acs;

use std::marker::PhantomData;

use axum::Router;
use axum::response::Response;
use depot_core::CoreError;
use depot_core::access::Object;
use depot_core::hrefs::Kind;
use depot_core::labels::Labeled;
use depot_core::models::Labels;
use depot_core::models::list::{Bind, Filter, Grantee, ListQuery};
use depot_core::models::remote::{self, NewRemote, Policy, Remote, SETTING_FIELDS};
use depot_core::plugin::Family;
use depot_core::tasks::args::RemoteUpdate;
use depot_core::tasks::{Dispatch, TaskContext, TaskFuture, TaskRegistry};
use depot_core::users::User;
use depot_http::crud::{self, Resource};
use depot_http::list::{generic_query, href_filters, name_filters, page_response, scoped};
use depot_http::openapi::{self, ApiDoc};
use depot_http::plugin_api::remote::fold_aliases;
use depot_http::plugin_api::{self, AcsType, ApiVisitor, FamilyApi, RemoteType};
use depot_http::{
    ApiResult, AppState, Caller, CorrelationId, Fields, ListParams, QueryMap, created, dispatched,
    ok,
};
use serde_json::{Map, Value};

const ALL: &str = "/pulp/api/v3/remotes/";

pub fn router() -> Router<AppState> {
    plugin_api::mount::<RemoteFamily>(depot_plugins::visit_api)
        .route(ALL, axum::routing::get(list_all))
}

/// Adds this family's operations to the OpenAPI document.
pub fn openapi(doc: &mut ApiDoc) {
    plugin_api::document::<RemoteFamily>(doc, depot_plugins::visit_api);
    let page = doc.paginated::<depot_core::models::remote::FileRemoteResponse>();
    openapi::generic_list(doc, (ALL, "remotes_list", "Remotes"), page, vec![]);
}

/// `remotes/`: remotes of every type the caller may see, each as its type shows it.
async fn list_all(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = generic_query(&state, &caller, &query, &remote::TABLE, Family::Remote).await?;
    let orderings = ["name", "pulp_created", "pulp_last_updated", "pk"];
    params.order(&mut q, &orderings, &[("name", false)])?;
    page_response(&state, &q, &params, &query, Some("pulp_labels"), |r| {
        Remote::from_row(r).and_then(|x| as_its_type(&x))
    })
    .await
}

/// This family, as it serves each remote type.
struct RemoteFamily;

impl FamilyApi for RemoteFamily {
    const FAMILY: Family = Family::Remote;

    fn remote<T: RemoteType>() -> Router<AppState> {
        crud::routes::<Remotes<T>>()
    }

    fn document_remote<T: RemoteType>(doc: &mut ApiDoc) {
        openapi_of::<T>(doc);
    }

    fn acs<T: AcsType>() -> Router<AppState> {
        acs::routes::<T>()
    }

    fn document_acs<T: AcsType>(doc: &mut ApiDoc) {
        acs::openapi::<T>(doc);
    }
}

/// The remotes of type `P`, for the generic handlers.
struct Remotes<P>(PhantomData<fn() -> P>);

impl<P: RemoteType> Resource for Remotes<P> {
    const BASE: &'static str = P::BASE;
    const KIND: Kind = P::KIND;
    const LABELED: Option<Labeled> = Some(Labeled::Remote);
    type Model = Remote;
    type Response = P::Response;
    type Create = P::Create;
    type Patch = P::Patch;

    async fn find(state: &AppState, id: &str) -> ApiResult<Remote> {
        Ok(remote::get_of_type(&state.db, id, P::PULP_TYPE).await?)
    }

    async fn show(_: &AppState, r: &Remote) -> ApiResult<P::Response> {
        Ok(P::response(r))
    }

    async fn list(state: AppState, query: QueryMap, scope: Option<Grantee>) -> ApiResult<Response> {
        list::<P>(state, query, scope).await
    }

    async fn create(
        state: AppState,
        caller: Caller,
        _: CorrelationId,
        f: Fields,
    ) -> ApiResult<Response> {
        create::<P>(state, caller, f).await
    }

    fn patch_body(fields: Fields) -> ApiResult<Map<String, Value>> {
        let (_, mut raw) = fields.parse_patch::<P::Patch>()?;
        fold_aliases(&mut raw);
        Ok(raw)
    }

    fn put_body(fields: Fields) -> ApiResult<Map<String, Value>> {
        let (_, mut raw) = fields.parse_patch::<P::Create>()?;
        fold_aliases(&mut raw);
        crud::require(&raw, &["name", "url"])?;
        Ok(raw)
    }

    async fn update(
        state: AppState,
        caller: Caller,
        cid: CorrelationId,
        id: String,
        raw: Map<String, Value>,
    ) -> ApiResult<Response> {
        apply_update::<P>(state, caller.user, cid, id, raw).await
    }
}

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(run_update);
    reg.register(acs::run_update);
}

/// Fields kept in the remote's settings document: the connection settings and the type's own.
fn is_setting<P: RemoteType>(field: &str) -> bool {
    SETTING_FIELDS.contains(&field) || P::FIELDS.contains(&field)
}

async fn create<P: RemoteType>(
    state: AppState,
    caller: Caller,
    fields: Fields,
) -> ApiResult<Response> {
    let (_, mut raw) = fields.parse_full::<P::Create>()?;
    fold_aliases(&mut raw);
    P::validate(&raw)?;
    if let Some(Value::String(u)) = raw.get("url") {
        remote::check_local_url("url", u, &state.settings.allowed_import_paths)?;
    }
    let text = |f: &str| {
        raw.get(f)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    for f in ["name", "upstream_name"] {
        if raw.get(f).is_some_and(|v| v.as_str() == Some("")) {
            return Err(CoreError::field(f, "This field may not be blank.").into());
        }
    }
    let settings: Map<String, Value> = raw
        .iter()
        .filter(|(k, _)| is_setting::<P>(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let labels = match raw.get("pulp_labels") {
        Some(l) if !l.is_null() => depot_core::labels::validate(l)?,
        _ => Labels::new(),
    };
    let policy = match raw.get("policy").and_then(Value::as_str) {
        Some(p) => Policy::parse(p).ok_or_else(|| CoreError::field("policy", "Invalid policy."))?,
        None => P::DEFAULT_POLICY,
    };
    let r = remote::create(
        &state.db,
        NewRemote {
            pulp_type: P::PULP_TYPE,
            name: text("name"),
            url: text("url"),
            policy,
            pulp_labels: labels,
            settings,
        },
    )
    .await?;
    caller.created(&state, &Object::new(P::KIND, &r.id)).await?;
    Ok(created(&P::response(&r)))
}

async fn list<P: RemoteType>(
    state: AppState,
    query: QueryMap,
    scope: Option<Grantee>,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&remote::TABLE);
    q.with(Filter::Is("pulp_type", Bind::Text(P::PULP_TYPE.into())))?;
    scoped(&mut q, scope)?;
    name_filters(&mut q, &query, "name")?;
    href_filters(&mut q, &query, P::KIND)?;
    let orderings = ["name", "pulp_created", "pulp_last_updated", "pk"];
    params.order(&mut q, &orderings, &[("name", false)])?;
    page_response(&state, &q, &params, &query, Some("pulp_labels"), |r| {
        Remote::from_row(r).map(|x| P::response(&x))
    })
    .await
}

async fn apply_update<P: RemoteType>(
    state: AppState,
    user: User,
    cid: CorrelationId,
    id: String,
    raw: Map<String, Value>,
) -> ApiResult<Response> {
    P::validate(&raw)?;
    let r = Remotes::<P>::find(&state, &id).await?;
    // Validate now so that the client gets a 400 rather than a failed task.
    let mut check = r.settings.clone();
    check.extend(
        raw.iter()
            .filter(|(k, _)| is_setting::<P>(k))
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    remote::validate_settings(&check)?;
    remote::check_client_settings(&check)?;
    if let Some(Value::String(u)) = raw.get("url") {
        remote::validate_url(u)?;
        remote::check_local_url("url", u, &state.settings.allowed_import_paths)?;
    }
    if let Some(l) = raw.get("pulp_labels") {
        depot_core::labels::validate(l)?;
    }
    let current = serde_json::to_value(P::response(&r)).unwrap_or_default();
    let unchanged = raw.iter().all(|(k, v)| match current.get(k) {
        Some(c) => c == v,
        None => r.settings.get(k) == Some(v),
    });
    if unchanged {
        return Ok(ok(&P::response(&r)));
    }
    let args = RemoteUpdate {
        id: id.clone(),
        changes: raw,
    };
    let d = Dispatch::new("pulpcore.app.tasks.base.general_update", &args)
        .exclusive(vec![P::KIND.prn(&id)])
        .immediate()
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

fn run_update(ctx: TaskContext, args: RemoteUpdate) -> TaskFuture {
    Box::pin(async move {
        remote::update(&ctx.core.db, &args.id, args.changes).await?;
        let r = remote::get(&ctx.core.db, &args.id).await?;
        Ok(Some(as_its_type(&r)?))
    })
}

/// The remote as its own type shows it (for task results).
fn as_its_type(r: &Remote) -> Result<Value, CoreError> {
    struct Show<'a>(&'a Remote, Option<Value>);
    impl ApiVisitor for Show<'_> {
        fn remote<T: RemoteType>(&mut self) {
            if T::KIND == self.0.kind {
                self.1 = serde_json::to_value(T::response(self.0)).ok();
            }
        }
    }
    let mut show = Show(r, None);
    depot_plugins::visit_api(&mut show);
    show.1
        .ok_or_else(|| CoreError::Internal(format!("no remote type {:?} here", r.kind)))
}

fn openapi_of<P: RemoteType>(doc: &mut ApiDoc) {
    let resp = doc.schema::<P::Response>();
    let async_op = doc.schema::<depot_core::models::AsyncOperationResponse>();
    let crud = openapi::Crud {
        base: P::BASE,
        href_param: P::HREF_PARAM,
        prefix: P::PREFIX,
        tag: P::TAG,
        filters: openapi::list_filters(
            &[
                "name",
                "name__contains",
                "name__icontains",
                "name__startswith",
                "name__iexact",
                "pulp_label_select",
            ],
            &["name__in", "pulp_href__in", "prn__in", "pulp_id__in"],
        ),
        page: doc.paginated::<P::Response>(),
        request: doc.schema::<P::Create>(),
        patched: doc.schema::<P::Patch>(),
        create: Some((201, resp.clone())),
        response: resp,
        delete: true,
        async_op: Some(async_op),
    };
    openapi::add_crud(doc, crud);
    depot_http::object_roles::openapi(doc, P::HREF_PARAM, P::PREFIX, P::TAG);
    depot_http::labels::openapi(doc, P::HREF_PARAM, P::PREFIX, P::TAG);
}

//! List, create, read, update and delete, written once for every repository type.

use std::marker::PhantomData;

use axum::Router;
use axum::response::Response;
use depot_core::access::Object;
use depot_core::hrefs::Kind;
use depot_core::labels::Labeled;
use depot_core::models::list::{Bind, Filter, Grantee, ListQuery};
use depot_core::models::repository::{self, NewRepository, Repository};
use depot_core::models::{AsyncOperationResponse, Labels};
use depot_core::plugin::Family;
use depot_core::tasks::args::RepositoryUpdate;
use depot_core::tasks::{Dispatch, TaskContext, TaskFuture, TaskRegistry};
use depot_core::users::User;
use depot_core::{CoreError, CoreResult};
use depot_http::crud::{self, Resource};
use depot_http::list::{
    generic_query, href_filters, name_filters, page_response, regex_filters, scoped,
};
use depot_http::openapi::{self, ApiDoc};
use depot_http::{
    ApiResult, AppState, Caller, CorrelationId, Fields, ListParams, QueryMap, created, dispatched,
    ok,
};
use serde_json::{Map, Value, json};

use depot_http::plugin_api::repository::{find, remote_id, text};
use depot_http::plugin_api::{ApiVisitor, RepositoryType};

pub fn routes<P: RepositoryType>() -> Router<AppState> {
    crud::routes::<Repositories<P>>()
}

/// The repositories of type `P`, for the generic handlers.
struct Repositories<P>(PhantomData<fn() -> P>);

impl<P: RepositoryType> Resource for Repositories<P> {
    const BASE: &'static str = P::BASE;
    const KIND: Kind = P::KIND;
    const LABELED: Option<Labeled> = Some(Labeled::Repository);
    const CREATABLE: bool = P::CREATABLE;
    type Model = Repository;
    type Response = P::Response;
    type Create = P::Create;
    type Patch = P::Patch;

    async fn find(state: &AppState, id: &str) -> ApiResult<Repository> {
        find::<P>(state, id).await
    }

    async fn show(_: &AppState, repo: &Repository) -> ApiResult<P::Response> {
        Ok(P::response(repo))
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

    fn put_body(fields: Fields) -> ApiResult<Map<String, Value>> {
        let (_, raw) = fields.parse_patch::<P::Create>()?;
        crud::require(&raw, &["name"])?;
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
}

fn blank_name(name: Option<&Value>) -> CoreResult<()> {
    match name {
        Some(Value::String(n)) if n.is_empty() => {
            Err(CoreError::field("name", "This field may not be blank."))
        }
        _ => Ok(()),
    }
}

async fn create<P: RepositoryType>(
    state: AppState,
    caller: Caller,
    fields: Fields,
) -> ApiResult<Response> {
    let (_, raw) = fields.parse_full::<P::Create>()?;
    blank_name(raw.get("name"))?;
    let remote_id = match text(&raw, "remote") {
        Some(h) => Some(remote_id::<P>(&state, &h).await?),
        None => None,
    };
    let pulp_labels = match raw.get("pulp_labels") {
        Some(l) if !l.is_null() => depot_core::labels::validate(l)?,
        _ => Labels::new(),
    };
    let mut new = NewRepository {
        pulp_type: P::PULP_TYPE,
        name: text(&raw, "name").unwrap_or_default(),
        description: text(&raw, "description"),
        pulp_labels,
        retain_repo_versions: raw.get("retain_repo_versions").and_then(Value::as_i64),
        retain_checkpoints: raw.get("retain_checkpoints").and_then(Value::as_i64),
        remote_id,
        autopublish: raw
            .get("autopublish")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        manifest: text(&raw, "manifest"),
    };
    P::defaults(&mut new);
    let repo = repository::create(&state.db, new).await?;
    caller
        .created(&state, &Object::new(P::KIND, &repo.id))
        .await?;
    Ok(created(&P::response(&repo)))
}

async fn list<P: RepositoryType>(
    state: AppState,
    query: QueryMap,
    scope: Option<Grantee>,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&repository::TABLE);
    q.with(Filter::Is("pulp_type", Bind::Text(P::PULP_TYPE.into())))?;
    scoped(&mut q, scope)?;
    name_filters(&mut q, &query, "name")?;
    regex_filters(&state, &mut q, &query, &repository::TABLE, "name").await?;
    href_filters(&mut q, &query, P::KIND)?;
    // Repositories holding a content unit: in any version, or in the latest.
    for (param, latest) in [("with_content", false), ("latest_with_content", true)] {
        if let Some(h) = query.get(param) {
            let (_, id) = depot_core::hrefs::resolve_family(Family::Content, param, h)?;
            q.with(Filter::RepositoryHolds("id", id, latest))?;
        }
    }
    // A remote's href; `null` (no remote); or the remote type's collection (any remote).
    if let (Some(r), Some(kind)) = (query.get("remote"), P::REMOTE) {
        let collection = depot_core::domain::api_root() + kind.collection;
        q.with(match kind.parse_ref(r) {
            Some(id) => Filter::Is("remote", Bind::Text(id)),
            None if r == "null" => Filter::Null("remote", true),
            None if r == collection => Filter::Null("remote", false),
            None => Filter::Nothing,
        })?;
    }
    let orderings = ["name", "pulp_created", "pulp_last_updated", "pk", "pulp_id"];
    params.order(&mut q, &orderings, &[("name", false)])?;
    page_response(&state, &q, &params, &query, Some("pulp_labels"), |r| {
        Repository::from_row(r).map(|repo| P::response(&repo))
    })
    .await
}

/// `repositories/`: repositories of every type the caller may see, each as its type shows it.
pub async fn list_all(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let table = &repository::TABLE;
    let mut q = generic_query(&state, &caller, &query, table, Family::Repository).await?;
    let orderings = ["name", "pulp_created", "pulp_last_updated", "pk"];
    params.order(&mut q, &orderings, &[("name", false)])?;
    page_response(&state, &q, &params, &query, Some("pulp_labels"), |r| {
        Repository::from_row(r).and_then(|repo| as_its_type(&repo))
    })
    .await
}

async fn apply_update<P: RepositoryType>(
    state: AppState,
    user: User,
    cid: CorrelationId,
    id: String,
    mut raw: Map<String, Value>,
) -> ApiResult<Response> {
    let repo = find::<P>(&state, &id).await?;
    if let (Some(Value::String(h)), Some(kind)) = (raw.get("remote").cloned(), P::REMOTE) {
        let rid = remote_id::<P>(&state, &h).await?;
        raw.insert("remote".into(), json!(kind.href(&rid)));
    }
    if let Some(l) = raw.get("pulp_labels") {
        depot_core::labels::validate(l)?;
    }
    blank_name(raw.get("name"))?;
    let current = serde_json::to_value(P::response(&repo)).unwrap_or_default();
    if raw.iter().all(|(k, v)| current.get(k) == Some(v)) {
        return Ok(ok(&P::response(&repo)));
    }
    let args = RepositoryUpdate {
        id: id.clone(),
        changes: raw,
    };
    let d = Dispatch::new("pulpcore.app.tasks.base.general_update", &args)
        .exclusive(vec![repo.prn()])
        .immediate()
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

fn run_update(ctx: TaskContext, args: RepositoryUpdate) -> TaskFuture {
    Box::pin(async move {
        repository::update(&ctx.core.db, &args.id, args.changes).await?;
        let repo = repository::get(&ctx.core.db, &args.id).await?;
        Ok(Some(as_its_type(&repo)?))
    })
}

/// The repository as its own type shows it (for task results).
fn as_its_type(repo: &Repository) -> CoreResult<Value> {
    struct Show<'a>(&'a Repository, Option<Value>);
    impl ApiVisitor for Show<'_> {
        fn repository<T: RepositoryType>(&mut self) {
            if T::KIND == self.0.kind {
                self.1 = serde_json::to_value(T::response(self.0)).ok();
            }
        }
    }
    let mut show = Show(repo, None);
    depot_plugins::visit_api(&mut show);
    show.1
        .ok_or_else(|| CoreError::Internal(format!("no repository type {:?} here", repo.kind)))
}

/// The CRUD and label operations of type `P` in the OpenAPI document.
pub fn openapi<P: RepositoryType>(doc: &mut ApiDoc) {
    let resp = doc.schema::<P::Response>();
    let mut plain = vec![
        "name",
        "name__contains",
        "name__icontains",
        "name__startswith",
        "name__iexact",
        "name__regex",
        "name__iregex",
        "with_content",
        "latest_with_content",
        "pulp_label_select",
    ];
    if P::REMOTE.is_some() {
        plain.push("remote");
    }
    let crud = openapi::Crud {
        base: P::BASE,
        href_param: P::HREF_PARAM,
        prefix: P::PREFIX,
        tag: P::TAG,
        filters: openapi::list_filters(
            &plain,
            &["name__in", "pulp_href__in", "prn__in", "pulp_id__in"],
        ),
        page: doc.paginated::<P::Response>(),
        request: doc.schema::<P::Create>(),
        patched: doc.schema::<P::Patch>(),
        create: P::CREATABLE.then(|| (201, resp.clone())),
        response: resp,
        delete: P::CREATABLE,
        async_op: Some(doc.schema::<AsyncOperationResponse>()),
    };
    openapi::add_crud(doc, crud);
    depot_http::object_roles::openapi(doc, P::HREF_PARAM, P::PREFIX, P::TAG);
    if P::CREATABLE {
        depot_http::labels::openapi(doc, P::HREF_PARAM, P::PREFIX, P::TAG);
    }
}

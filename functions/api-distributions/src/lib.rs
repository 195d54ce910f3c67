//! Distributions of every type the plugins have (`distributions/<plugin>/<type>/`). Create,
//! update and delete run as immediate tasks, as in Pulp. The operations are written once over
//! [`DistributionType`].

use std::marker::PhantomData;

use axum::Router;
use axum::response::Response;
use depot_core::config::Settings;
use depot_core::db::Db;
use depot_core::hrefs::Kind;
use depot_core::labels::Labeled;
use depot_core::models::distribution::{self, BASE_PATHS, Distribution, NewDistribution, Source};
use depot_core::models::list::{Bind, Filter, Grantee, ListQuery};
use depot_core::models::{Labels, domain, publication, remote, repository, version};
use depot_core::plugin::Family;
use depot_core::tasks::args::{DistributionCreate, DistributionUpdate};
use depot_core::tasks::{Dispatch, TaskContext, TaskFuture, TaskRegistry};
use depot_core::users::User;
use depot_core::{CoreError, CoreResult};
use depot_http::crud::{self, Resource};
use depot_http::expression::{DISTRIBUTION_FILTERS, Terms, label_term, term_error};
use depot_http::list::{
    family_scope, fetch_page, href_filters, href_filters_any, name_filters, scoped,
};
use depot_http::openapi::{self, ApiDoc};
use depot_http::plugin_api::{self, ApiVisitor, DistributionType, FamilyApi};
use depot_http::{
    ApiResult, AppState, Caller, CorrelationId, Fields, ListParams, QueryMap, dispatched, ok,
};
use serde_json::{Map, Value};

const ALL: &str = "/pulp/api/v3/distributions/";

pub fn router() -> Router<AppState> {
    plugin_api::mount::<DistributionFamily>(depot_plugins::visit_api)
        .route(ALL, axum::routing::get(list_all))
}

/// Adds this family's operations to the OpenAPI document.
pub fn openapi(doc: &mut ApiDoc) {
    plugin_api::document::<DistributionFamily>(doc, depot_plugins::visit_api);
    let page = doc.paginated::<depot_core::models::distribution::FileDistributionResponse>();
    openapi::generic_list(
        doc,
        (ALL, "distributions_list", "Distributions"),
        page,
        vec![],
    );
}

/// `distributions/`: distributions of every type the caller may see, with the fields they
/// all have (Pulp's generic list shows those).
async fn list_all(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&distribution::TABLE);
    q.with(family_scope(&state, &caller, Family::Distribution).await?)?;
    name_filters(&mut q, &query, "name")?;
    name_filters(&mut q, &query, "base_path")?;
    href_filters_any(&mut q, &query, Family::Distribution)?;
    params.order(
        &mut q,
        &["name", "base_path", "pulp_created", "pk"],
        &[("name", false)],
    )?;
    let (count, rows) = fetch_page(&state, &q, &params, &query, Some("pulp_labels")).await?;
    let mut results = Vec::with_capacity(rows.len());
    for row in &rows {
        let d = Distribution::from_row(row)?;
        let shown = distribution::response(&state.db, &d, &state.settings).await?;
        results.push(serde_json::to_value(shown).unwrap_or_default());
    }
    Ok(ok(&params.page(&query, count, results)))
}

/// This family, as it serves each distribution type.
struct DistributionFamily;

impl FamilyApi for DistributionFamily {
    const FAMILY: Family = Family::Distribution;

    fn distribution<T: DistributionType>() -> Router<AppState> {
        crud::routes::<Distributions<T>>()
    }

    fn document_distribution<T: DistributionType>(doc: &mut ApiDoc) {
        openapi_of::<T>(doc);
    }
}

/// The distributions of type `P`, for the generic handlers.
struct Distributions<P>(PhantomData<fn() -> P>);

impl<P: DistributionType> Resource for Distributions<P> {
    const BASE: &'static str = P::BASE;
    const KIND: Kind = P::KIND;
    const LABELED: Option<Labeled> = Some(Labeled::Distribution);
    type Model = Distribution;
    type Response = P::Response;
    type Create = P::Create;
    type Patch = P::Patch;

    async fn find(state: &AppState, id: &str) -> ApiResult<Distribution> {
        Ok(distribution::get_of_type(&state.db, id, P::PULP_TYPE).await?)
    }

    async fn show(state: &AppState, d: &Distribution) -> ApiResult<P::Response> {
        Ok(one::<P>(&state.db, &state.settings, d).await?)
    }

    async fn list(state: AppState, query: QueryMap, scope: Option<Grantee>) -> ApiResult<Response> {
        list::<P>(state, query, scope).await
    }

    async fn create(
        state: AppState,
        caller: Caller,
        cid: CorrelationId,
        fields: Fields,
    ) -> ApiResult<Response> {
        create::<P>(state, caller.user, cid, fields).await
    }

    async fn update(
        state: AppState,
        caller: Caller,
        cid: CorrelationId,
        id: String,
        raw: Map<String, Value>,
    ) -> ApiResult<Response> {
        apply_update::<P>(state, caller.user.id, cid.0, id, raw).await
    }
}

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(run_create);
    reg.register(run_update);
}

/// The distribution as type `P` shows it.
async fn one<P: DistributionType>(
    db: &Db,
    settings: &Settings,
    d: &Distribution,
) -> CoreResult<P::Response> {
    let mut shown = typed::<P>(db, settings, std::slice::from_ref(d)).await?;
    shown
        .pop()
        .ok_or_else(|| CoreError::Internal("a distribution went unshown".into()))
}

/// The distributions as type `P` shows them.
async fn typed<P: DistributionType>(
    db: &Db,
    settings: &Settings,
    ds: &[Distribution],
) -> CoreResult<Vec<P::Response>> {
    let mut related = P::related(db, ds).await?;
    let mut out = Vec::with_capacity(ds.len());
    for d in ds {
        let common = distribution::response(db, d, settings).await?;
        out.push(P::response(common, d, related.remove(&d.id), settings));
    }
    Ok(out)
}

/// What the task that created or changed `d` answers: the distribution as its own type shows
/// it, once the type did what it does on a save.
async fn saved(db: &Db, d: &Distribution, s: &Settings) -> CoreResult<Value> {
    async fn shown<P: DistributionType>(
        db: &Db,
        d: &Distribution,
        s: &Settings,
    ) -> CoreResult<Value> {
        P::saved(db, d).await?;
        Ok(serde_json::to_value(one::<P>(db, s, d).await?).unwrap_or_default())
    }
    struct Find<'a> {
        db: &'a Db,
        d: &'a Distribution,
        s: &'a Settings,
        found: Option<futures_util::future::BoxFuture<'a, CoreResult<Value>>>,
    }
    impl<'a> ApiVisitor for Find<'a> {
        fn distribution<T: DistributionType>(&mut self) {
            if T::KIND == self.d.kind {
                self.found = Some(Box::pin(shown::<T>(self.db, self.d, self.s)));
            }
        }
    }
    let mut find = Find {
        db,
        d,
        s,
        found: None,
    };
    depot_plugins::visit_api(&mut find);
    match find.found {
        Some(f) => f.await,
        None => Err(CoreError::Internal(format!(
            "no distribution type {:?} here",
            d.kind
        ))),
    }
}

/// An href of any of `kinds`, as an id.
fn resolve_any(kinds: &[Kind], field: &str, href: &str) -> CoreResult<String> {
    match kinds.iter().find_map(|k| k.parse_ref(href)) {
        Some(id) => Ok(id),
        None => depot_core::hrefs::resolve(kinds[0], field, href),
    }
}

/// The content guard `raw` names (an href or PRN of any guard type, which must exist), as
/// its id: `None` when not sent, `Some(None)` when sent as null.
async fn guard_id(
    state: &AppState,
    raw: &Map<String, Value>,
) -> CoreResult<Option<Option<String>>> {
    let reference = match raw.get("content_guard") {
        None => return Ok(None),
        Some(Value::Null) => return Ok(Some(None)),
        Some(Value::String(r)) => r,
        Some(_) => {
            return Err(CoreError::field("content_guard", "Incorrect type."));
        }
    };
    let id = depot_core::plugin::of_family(Family::ContentGuard)
        .find_map(|k| k.parse_ref(reference).map(|id| (k, id)));
    let Some((kind, id)) = id else {
        return Err(depot_core::hrefs::unresolved("content_guard", reference));
    };
    depot_core::models::content_guard::get_of_type(&state.db, &id, kind)
        .await
        .map_err(|_| depot_core::hrefs::missing("content_guard", reference))?;
    Ok(Some(Some(id)))
}

/// Checks the fields that differ between types: the type's base path rules, and that a
/// remote exists.
async fn check_fields<P: DistributionType>(
    state: &AppState,
    raw: &Map<String, Value>,
) -> CoreResult<()> {
    // Only the content app and the index enforce guards yet: a guard the registry would not
    // ask is refused rather than trusted.
    if !P::KIND.served_by_content_app() && raw.get("content_guard").is_some_and(|v| !v.is_null()) {
        return Err(CoreError::field(
            "content_guard",
            "The registry does not enforce content guards yet; container distributions take none.",
        ));
    }
    if P::PUBLICATION.is_none() && raw.get("publication").is_some_and(|v| !v.is_null()) {
        return Err(CoreError::field(
            "publication",
            "Publications are not supported here; distribute the repository or a version.",
        ));
    }
    if let Some(Value::String(b)) = raw.get("base_path") {
        P::validate_base_path(b)?;
    }
    if let (Some(Value::String(h)), Some(kind)) = (raw.get("remote"), P::REMOTE) {
        let id = depot_core::hrefs::resolve(kind, "remote", h)?;
        remote::get(&state.db, &id)
            .await
            .map_err(|_| depot_core::hrefs::missing("remote", h))?;
    }
    Ok(())
}

/// Resolves the source fields present in `raw`; `None` when none of them was sent.
async fn resolve_source<P: DistributionType>(
    state: &AppState,
    raw: &Map<String, Value>,
) -> CoreResult<Option<Source>> {
    // An empty string unsets, as null does (pulp-cli and Pulp's tests send "").
    let get = |k: &str| {
        raw.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if !["repository", "repository_version", "publication"]
        .iter()
        .any(|k| raw.contains_key(*k))
    {
        return Ok(None);
    }
    let (repo, ver, publ) = (
        get("repository"),
        get("repository_version"),
        get("publication"),
    );
    if [&repo, &ver, &publ].iter().filter(|v| v.is_some()).count() > 1 {
        return Err(CoreError::invalid(
            "Only one of the attributes 'repository', 'repository_version' and 'publication' may be used simultaneously.",
        ));
    }
    let mut s = Source::default();
    if let Some(h) = repo {
        let id = resolve_any(P::REPOSITORIES, "repository", &h)?;
        repository::get(&state.db, &id)
            .await
            .map_err(|_| depot_core::hrefs::missing("repository", h))?;
        s.repository_id = Some(id);
    }
    if let Some(h) = ver {
        let (repo, n) = depot_core::hrefs::resolve_version("repository_version", &h)?;
        let kind = repository::get(&state.db, &repo)
            .await
            .ok()
            .map(|r| r.kind());
        if !kind.is_some_and(|k| P::REPOSITORIES.contains(&k)) {
            return Err(depot_core::hrefs::missing("repository_version", h));
        }
        let v = version::get(&state.db, &repo, n)
            .await
            .map_err(|_| depot_core::hrefs::missing("repository_version", h))?;
        s.repository_version_id = Some(v.id);
    }
    if let (Some(h), Some(kind)) = (publ, P::PUBLICATION) {
        let id = depot_core::hrefs::resolve(kind, "publication", &h)?;
        publication::get(&state.db, &id)
            .await
            .ok()
            .filter(|p| p.kind() == kind)
            .ok_or_else(|| depot_core::hrefs::missing("publication", &h))?;
        s.publication_id = Some(id);
    }
    Ok(Some(s))
}

async fn create<P: DistributionType>(
    state: AppState,
    user: User,
    cid: CorrelationId,
    fields: Fields,
) -> ApiResult<Response> {
    let (_, raw) = fields.parse_full::<P::Create>()?;
    let text = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_string);
    let flag = |k: &str| raw.get(k).and_then(Value::as_bool).unwrap_or(false);
    let (name, base_path) = (
        text("name").unwrap_or_default(),
        text("base_path").unwrap_or_default(),
    );
    check_fields::<P>(&state, &raw).await?;
    distribution::precheck(&state.db, P::PULP_TYPE, Some(&name), Some(&base_path), None).await?;
    let labels = match raw.get("pulp_labels") {
        Some(l) if !l.is_null() => depot_core::labels::validate(l)?,
        _ => Labels::new(),
    };
    let source = resolve_source::<P>(&state, &raw).await?.unwrap_or_default();
    let remote_id = match (text("remote"), P::REMOTE) {
        (Some(h), Some(kind)) => Some(depot_core::hrefs::resolve(kind, "remote", &h)?),
        _ => None,
    };
    let content_guard = match guard_id(&state, &raw).await?.flatten() {
        Some(id) => Some(id),
        None if P::KIND.served_by_content_app() => domain::default_guard(&state.db).await?,
        None => None,
    };
    let args = DistributionCreate(NewDistribution {
        pulp_type: P::PULP_TYPE.to_string(),
        name,
        base_path,
        pulp_labels: labels,
        hidden: flag("hidden"),
        source,
        checkpoint: flag("checkpoint"),
        private: flag("private"),
        description: text("description"),
        remote_id,
        pull_through_id: None,
        allow_uploads: raw
            .get("allow_uploads")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        content_guard,
    });
    let d = Dispatch::new("pulpcore.app.tasks.base.general_create", &args)
        .exclusive(vec![BASE_PATHS.into()])
        .immediate()
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

fn run_create(ctx: TaskContext, args: DistributionCreate) -> TaskFuture {
    Box::pin(async move {
        let d = distribution::create(&ctx.core.db, args.0).await?;
        depot_core::models::distributed::track(&ctx.core, &d.id).await?;
        ctx.made(d.kind, &d.id).await?;
        Ok(Some(saved(&ctx.core.db, &d, &ctx.core.settings).await?))
    })
}

async fn list<P: DistributionType>(
    state: AppState,
    query: QueryMap,
    scope: Option<Grantee>,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&distribution::TABLE);
    q.with(Filter::Is("pulp_type", Bind::Text(P::PULP_TYPE.into())))?;
    scoped(&mut q, scope)?;
    name_filters(&mut q, &query, "name")?;
    name_filters(&mut q, &query, "base_path")?;
    href_filters(&mut q, &query, P::KIND)?;
    if let Some(h) = query.get("repository") {
        q.with(match P::REPOSITORIES.iter().find_map(|k| k.parse_ref(h)) {
            Some(id) => Filter::Is("repository", Bind::Text(id)),
            None => Filter::Nothing,
        })?;
    }
    if let Some(h) = query.get("with_content") {
        let (_, id) = depot_core::hrefs::resolve_family(
            depot_core::plugin::Family::Content,
            "with_content",
            h,
        )?;
        q.with(Filter::DistributionServes("id", id))?;
    }
    if query.get("repository__in").is_some() {
        let ids = query
            .list("repository__in")
            .iter()
            .filter_map(|h| P::REPOSITORIES.iter().find_map(|k| k.parse_ref(h)))
            .collect();
        q.with(Filter::In("repository", ids))?;
    }
    let plain = |q: &mut ListQuery, query: &QueryMap| -> CoreResult<()> {
        name_filters(q, query, "name")?;
        name_filters(q, query, "base_path")?;
        href_filters(q, query, P::KIND)
    };
    if let Some(mut terms) = Terms::of(&query, &distribution::TABLE, DISTRIBUTION_FILTERS)? {
        for (recorder, term) in terms.iter_mut() {
            label_term(recorder, term, "pulp_labels")?;
            plain(recorder, term).map_err(term_error)?;
        }
        q.with(terms.into_filter())?;
    }
    let orderings = ["name", "base_path", "pulp_created", "pk"];
    params.order(&mut q, &orderings, &[("name", false)])?;
    let (count, rows) = fetch_page(&state, &q, &params, &query, Some("pulp_labels")).await?;
    let ds = rows
        .iter()
        .map(Distribution::from_row)
        .collect::<CoreResult<Vec<_>>>()?;
    let results = typed::<P>(&state.db, &state.settings, &ds)
        .await?
        .into_iter()
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .collect();
    Ok(ok(&params.page(&query, count, results)))
}

async fn apply_update<P: DistributionType>(
    state: AppState,
    user: String,
    cid: String,
    id: String,
    raw: Map<String, Value>,
) -> ApiResult<Response> {
    let d = distribution::get_of_type(&state.db, &id, P::PULP_TYPE).await?;
    check_fields::<P>(&state, &raw).await?;
    distribution::precheck(
        &state.db,
        P::PULP_TYPE,
        raw.get("name").and_then(Value::as_str),
        raw.get("base_path").and_then(Value::as_str),
        Some(&id),
    )
    .await?;
    if let Some(l) = raw.get("pulp_labels") {
        depot_core::labels::validate(l)?;
    }
    let source = resolve_source::<P>(&state, &raw).await?;
    let current =
        serde_json::to_value(one::<P>(&state.db, &state.settings, &d).await?).unwrap_or_default();
    if raw.iter().all(|(k, v)| current.get(k) == Some(v)) {
        return Ok(ok(&current));
    }
    let mut raw = raw;
    if let Some(guard) = guard_id(&state, &raw).await? {
        raw.insert(
            "content_guard".into(),
            guard.map_or(Value::Null, Value::String),
        );
    }
    let args = DistributionUpdate {
        id: id.clone(),
        changes: raw,
        source,
    };
    let d = Dispatch::new("pulpcore.app.tasks.base.general_update", &args)
        .exclusive(vec![BASE_PATHS.into(), P::KIND.prn(&id)])
        .immediate()
        .requested_by(&user, &cid);
    dispatched(&state, d).await
}

fn run_update(ctx: TaskContext, args: DistributionUpdate) -> TaskFuture {
    Box::pin(async move {
        let id = args.id;
        distribution::update(&ctx.core.db, &id, args.changes, args.source).await?;
        depot_core::models::distributed::track(&ctx.core, &id).await?;
        let d = distribution::get(&ctx.core.db, &id).await?;
        Ok(Some(saved(&ctx.core.db, &d, &ctx.core.settings).await?))
    })
}

fn openapi_of<P: DistributionType>(doc: &mut ApiDoc) {
    let async_op = doc.schema::<depot_core::models::AsyncOperationResponse>();
    let mut plain = vec![
        "name",
        "name__contains",
        "name__icontains",
        "name__startswith",
        "base_path",
        "base_path__contains",
        "base_path__icontains",
        "pulp_label_select",
        "q",
    ];
    let mut csv = vec![
        "name__in",
        "base_path__in",
        "pulp_href__in",
        "prn__in",
        "pulp_id__in",
    ];
    if !P::REPOSITORIES.is_empty() {
        plain.push("repository");
        plain.push("with_content");
        csv.push("repository__in");
    }
    let crud = openapi::Crud {
        base: P::BASE,
        href_param: P::HREF_PARAM,
        prefix: P::PREFIX,
        tag: P::TAG,
        filters: openapi::list_filters(&plain, &csv),
        page: doc.paginated::<P::Response>(),
        request: doc.schema::<P::Create>(),
        patched: doc.schema::<P::Patch>(),
        create: Some((202, async_op.clone())),
        response: doc.schema::<P::Response>(),
        delete: true,
        async_op: Some(async_op),
    };
    openapi::add_crud(doc, crud);
    depot_http::object_roles::openapi(doc, P::HREF_PARAM, P::PREFIX, P::TAG);
    depot_http::labels::openapi(doc, P::HREF_PARAM, P::PREFIX, P::TAG);
}

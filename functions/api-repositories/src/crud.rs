//! List, create, read, update and delete, written once for every repository type.

use std::marker::PhantomData;

use axum::Router;
use axum::response::Response;
use depot_core::hrefs::Kind;
use depot_core::labels::Labeled;
use depot_core::models::list::{Bind, Filter, ListQuery};
use depot_core::models::remote;
use depot_core::models::repository::{self, NewRepository, Repository};
use depot_core::models::{AsyncOperationResponse, Labels, content};
use depot_core::tasks::args::RepositoryUpdate;
use depot_core::tasks::{Dispatch, TaskArgs, TaskContext, TaskFuture, TaskRegistry};
use depot_core::users::User;
use depot_core::{CoreError, CoreResult};
use depot_http::crud::{self, Resource};
use depot_http::list::{href_filters, name_filters, page_response};
use depot_http::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};
use depot_http::{
    ApiResult, AppState, CorrelationId, Fields, ListParams, QueryMap, created, dispatched, ok,
};
use serde_json::{Map, Value, json};

use crate::types::{RepositoryType, text};

pub fn routes<P: RepositoryType>() -> Router<AppState> {
    crud::routes::<Repositories<P>>()
}

/// The repositories of type `P`, for the generic handlers.
struct Repositories<P>(PhantomData<fn() -> P>);

impl<P: RepositoryType> Resource for Repositories<P> {
    const BASE: &'static str = P::BASE;
    const KIND: Kind = P::KIND;
    const LABELED: Labeled = Labeled::Repository;
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

    async fn list(state: AppState, query: QueryMap) -> ApiResult<Response> {
        list::<P>(state, query).await
    }

    async fn create(state: AppState, _: User, _: CorrelationId, f: Fields) -> ApiResult<Response> {
        create::<P>(state, f).await
    }

    fn put_body(fields: Fields) -> ApiResult<Map<String, Value>> {
        let (_, raw) = fields.parse_patch::<P::Create>()?;
        crud::require(&raw, &["name"])?;
        Ok(raw)
    }

    async fn update(
        state: AppState,
        user: User,
        cid: CorrelationId,
        id: String,
        raw: Map<String, Value>,
    ) -> ApiResult<Response> {
        apply_update::<P>(state, user, cid, id, raw).await
    }
}

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(run_update);
}

/// The repository `id` of type `P`; another type's repository is not found.
pub async fn find<P: RepositoryType>(state: &AppState, id: &str) -> ApiResult<Repository> {
    Ok(repository::get_of_type(&state.db, id, P::PULP_TYPE).await?)
}

/// Resolves a remote reference to its id, checking it exists and is of the type `P` syncs from.
pub async fn remote_id<P: RepositoryType>(state: &AppState, href: &str) -> CoreResult<String> {
    let kind = P::REMOTE.ok_or_else(|| CoreError::field("remote", "Unexpected field"))?;
    let id = depot_core::hrefs::resolve(kind, "remote", href)?;
    remote::get(&state.db, &id)
        .await
        .map_err(|_| depot_core::hrefs::missing("remote", href))?;
    Ok(id)
}

/// Resolves content references of the types `P` holds, refusing unknown ones.
pub async fn content_ids<P: RepositoryType>(
    state: &AppState,
    field: &str,
    hrefs: Vec<String>,
) -> CoreResult<Vec<String>> {
    let mut ids = Vec::with_capacity(hrefs.len());
    for h in hrefs {
        let found = P::CONTENT
            .iter()
            .find_map(|k| Some((k.parse_ref(&h)?, k.pulp_type)));
        let Some((id, pulp_type)) = found else {
            return Err(depot_core::hrefs::resolve(P::CONTENT[0], field, &h).unwrap_err());
        };
        if !content::exists(&state.db, &id, pulp_type).await? {
            return Err(depot_core::hrefs::missing(field, &h));
        }
        ids.push(id);
    }
    Ok(ids)
}

/// The remote a sync uses: the one sent, else the repository's.
pub async fn sync_remote<P: RepositoryType>(
    state: &AppState,
    repo: &depot_core::models::repository::Repository,
    sent: Option<&str>,
) -> ApiResult<String> {
    match sent {
        Some(h) => Ok(remote_id::<P>(state, h).await?),
        None => repo.remote_id.clone().ok_or_else(|| {
            CoreError::field(
                "remote",
                "A remote must be specified, or the repository must have one.",
            )
            .into()
        }),
    }
}

/// Dispatches a sync of `repo` from the remote `remote_id`: the task holds the repository and
/// shares the remote with other syncs from it.
pub async fn dispatch_sync<P: RepositoryType>(
    state: &AppState,
    (user, cid): (&depot_core::users::User, &CorrelationId),
    repo: &Repository,
    remote_id: &str,
    name: &'static str,
    args: impl TaskArgs,
) -> ApiResult<Response> {
    let shared: Vec<String> = P::REMOTE.iter().map(|k| k.prn(remote_id)).collect();
    let d = Dispatch::new(name, &args)
        .exclusive(vec![repo.prn()])
        .shared(shared)
        .requested_by(&user.id, &cid.0);
    dispatched(state, d).await
}

fn blank_name(name: Option<&Value>) -> CoreResult<()> {
    match name {
        Some(Value::String(n)) if n.is_empty() => {
            Err(CoreError::field("name", "This field may not be blank."))
        }
        _ => Ok(()),
    }
}

async fn create<P: RepositoryType>(state: AppState, fields: Fields) -> ApiResult<Response> {
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
    Ok(created(&P::response(&repo)))
}

async fn list<P: RepositoryType>(state: AppState, query: QueryMap) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&repository::TABLE);
    q.with(Filter::Is("pulp_type", Bind::Text(P::PULP_TYPE.into())))?;
    name_filters(&mut q, &query, "name")?;
    href_filters(&mut q, &query, P::KIND)?;
    if let (Some(r), Some(kind)) = (query.get("remote"), P::REMOTE) {
        q.with(match kind.parse_ref(r) {
            Some(id) => Filter::Is("remote", Bind::Text(id)),
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
        // The task result is the repository as its own type shows it.
        let value = match repo.kind() {
            k if k == crate::types::Container::KIND => {
                serde_json::to_value(crate::types::Container::response(&repo))
            }
            k if k == crate::types::ContainerPush::KIND => {
                serde_json::to_value(crate::types::ContainerPush::response(&repo))
            }
            k if k == crate::types::Python::KIND => {
                serde_json::to_value(crate::types::Python::response(&repo))
            }
            k if k == crate::types::File::KIND => serde_json::to_value(repo.response()),
            k => {
                return Err(CoreError::Internal(format!(
                    "no repository type {k:?} here"
                )));
            }
        };
        Ok(Some(value.unwrap_or_default()))
    })
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
        async_op: doc.schema::<AsyncOperationResponse>(),
    };
    openapi::add_crud(doc, crud);
    if P::CREATABLE {
        depot_http::labels::openapi(doc, P::HREF_PARAM, P::PREFIX, P::TAG);
    }
}

/// A repository action (`POST <repository>/<action>/` answered by a task) in the document.
pub fn action<P: RepositoryType>(
    doc: &mut ApiDoc,
    action: &str,
    summary: &'static str,
    body: serde_json::Value,
) {
    let async_op = doc.schema::<AsyncOperationResponse>();
    doc.add(
        Op::new(
            "post",
            format!("{{{}}}{action}/", P::HREF_PARAM),
            format!("{}_{action}", P::PREFIX),
            P::TAG,
        )
        .summary(summary)
        .param(depot_http::openapi::href_param(P::HREF_PARAM))
        .body(body, JSON_FORM_MULTIPART)
        .response(202, Some(async_op)),
    );
}

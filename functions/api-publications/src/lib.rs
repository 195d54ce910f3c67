//! Publications of every type: `publications/file/file/` (a version's files plus a generated
//! PULP_MANIFEST, served by the content app) and `publications/python/pypi/` (pulp_python's
//! deprecated publications: a fixed version for an index to serve). The operations are written
//! once over [`PublicationType`].

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::CoreError;
use depot_core::hrefs::{Kind, parse_version_href};
use depot_core::models::list::{Bind, Filter, ListQuery};
use depot_core::models::publication::{self, FilePublicationResponse, Publication};
use depot_core::models::{repository, version};
use depot_core::tasks::{Dispatch, TaskArgs};
use depot_http::list::{fetch_page, href_filters};
use depot_http::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};
use depot_http::{
    ApiResult, AppState, Authenticated, CorrelationId, Fields, ListParams, QueryMap, dispatched,
    no_content, ok, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub trait PublicationType: Send + Sync + 'static {
    const PULP_TYPE: &'static str;
    const KIND: Kind;
    const REPOSITORY: Kind;
    const BASE: &'static str;
    const PREFIX: &'static str;
    const HREF_PARAM: &'static str;
    const TAG: &'static str;
    const TASK: &'static str;
    type Create: DeserializeOwned + JsonSchema;
    /// The plugin's publish task.
    type Task: TaskArgs;
    fn task(repository_version_id: String, manifest: String, checkpoint: bool) -> Self::Task;
}

pub struct File;

impl PublicationType for File {
    const PULP_TYPE: &'static str = "file.file";
    const KIND: Kind = &depot_file::PUBLICATION;
    const REPOSITORY: Kind = &depot_file::REPOSITORY;
    const BASE: &'static str = "/pulp/api/v3/publications/file/file/";
    const PREFIX: &'static str = "publications_file_file";
    const HREF_PARAM: &'static str = "file_file_publication_href";
    const TAG: &'static str = "Publications: File";
    const TASK: &'static str = "pulp_file.app.tasks.publishing.publish";
    type Create = FilePublication;
    type Task = depot_file::Publish;
    fn task(repository_version_id: String, manifest: String, checkpoint: bool) -> Self::Task {
        depot_file::Publish {
            repository_version_id,
            manifest,
            checkpoint,
        }
    }
}

pub struct Python;

impl PublicationType for Python {
    const PULP_TYPE: &'static str = "python.python";
    const KIND: Kind = &depot_python::plugin::PUBLICATION;
    const REPOSITORY: Kind = &depot_python::plugin::REPOSITORY;
    const BASE: &'static str = "/pulp/api/v3/publications/python/pypi/";
    const PREFIX: &'static str = "publications_python_pypi";
    const HREF_PARAM: &'static str = "python_python_publication_href";
    const TAG: &'static str = "Publications: Pypi";
    const TASK: &'static str = "pulp_python.app.tasks.publish.publish";
    type Create = PythonPublication;
    type Task = depot_python::plugin::Publish;
    fn task(repository_version_id: String, _: String, _: bool) -> Self::Task {
        depot_python::plugin::Publish {
            repository_version_id,
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(routes::<File>())
        .merge(routes::<Python>())
}

fn routes<P: PublicationType>() -> Router<AppState> {
    Router::new()
        .route(P::BASE, get(list::<P>).post(create::<P>))
        .route(
            &format!("{}{{id}}/", P::BASE),
            get(read::<P>).delete(delete::<P>),
        )
}

/// What to publish: a repository (its latest version) or one version, not both.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilePublication {
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    /// Name of the generated manifest file.
    pub manifest: Option<String>,
    pub checkpoint: Option<bool>,
}

/// The repository (its latest version) or the version an index serves, not both.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PythonPublication {
    pub repository: Option<String>,
    pub repository_version: Option<String>,
}

async fn create<P: PublicationType>(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    fields: Fields,
) -> ApiResult<Response> {
    let (_, raw) = fields.parse_full::<P::Create>()?;
    let text = |k: &str| raw.get(k).and_then(Value::as_str);
    let v = match (text("repository"), text("repository_version")) {
        (Some(_), Some(_)) => {
            return Err(CoreError::invalid(
                "Only one of the attributes 'repository' and 'repository_version' may be specified",
            )
            .into());
        }
        (None, None) => {
            return Err(CoreError::invalid(
                "Either the 'repository' or 'repository_version' need to be specified",
            )
            .into());
        }
        (Some(h), None) => {
            let id = depot_core::hrefs::resolve(P::REPOSITORY, "repository", h)?;
            let repo = repository::get_of_type(&state.db, &id, P::PULP_TYPE)
                .await
                .map_err(|_| depot_core::hrefs::missing("repository", h))?;
            version::get(&state.db, &id, repo.latest_number).await?
        }
        (None, Some(h)) => {
            let (repo, n) = depot_core::hrefs::resolve_version("repository_version", h)?;
            repository::get_of_type(&state.db, &repo, P::PULP_TYPE)
                .await
                .map_err(|_| depot_core::hrefs::missing("repository_version", h))?;
            version::get(&state.db, &repo, n)
                .await
                .map_err(|_| depot_core::hrefs::missing("repository_version", h))?
        }
    };
    let manifest = text("manifest").unwrap_or("PULP_MANIFEST").to_string();
    depot_file::content::validate_relative_path(&manifest)
        .map_err(|_| CoreError::field("manifest", "Invalid manifest name."))?;
    let checkpoint = raw
        .get("checkpoint")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let args = P::task(v.id.clone(), manifest, checkpoint);
    let d = Dispatch::new(P::TASK, &args)
        .shared(vec![P::REPOSITORY.prn(&v.repository_id)])
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

async fn list<P: PublicationType>(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&publication::TABLE);
    q.with(Filter::Is("pulp_type", Bind::Text(P::PULP_TYPE.into())))?;
    href_filters(&mut q, &query, P::KIND)?;
    if let Some(h) = query.get("repository_version") {
        let (repo, n) = parse_version_href(h).ok_or_else(|| {
            CoreError::field("repository_version", "Invalid repository version href.")
        })?;
        q.with(Filter::Is("repository", Bind::Text(repo)))?;
        q.with(Filter::Is("number", Bind::Int(n)))?;
    }
    if let Some(h) = query.get("repository") {
        let id = P::REPOSITORY
            .parse_ref(h)
            .ok_or_else(|| CoreError::field("repository", "Invalid repository href."))?;
        q.with(Filter::Is("repository", Bind::Text(id)))?;
    }
    params.order(&mut q, &["pulp_created", "pk"], &[("pulp_created", true)])?;
    let (count, rows) = fetch_page(&state, &q, &params, &query, None).await?;
    let mut results = Vec::new();
    for r in &rows {
        let p = Publication::from_row(r)?;
        results.push(
            serde_json::to_value(publication::response(&state.db, &p).await?).unwrap_or_default(),
        );
    }
    Ok(ok(&params.page(&query, count, results)))
}

async fn find<P: PublicationType>(state: &AppState, id: &str) -> ApiResult<Publication> {
    let p = publication::get(&state.db, id).await?;
    if p.pulp_type != P::PULP_TYPE {
        return Err(CoreError::not_found("Publication").into());
    }
    Ok(p)
}

async fn read<P: PublicationType>(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let p = find::<P>(&state, &id).await?;
    let resp = publication::response(&state.db, &p).await?;
    shaped(&query, &resp)
}

async fn delete<P: PublicationType>(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    find::<P>(&state, &id).await?;
    publication::delete(&state.db, &id).await?;
    Ok(no_content())
}

pub fn openapi(doc: &mut ApiDoc) {
    openapi_of::<File>(doc);
    openapi_of::<Python>(doc);
}

fn openapi_of<P: PublicationType>(doc: &mut ApiDoc) {
    let resp = doc.schema::<FilePublicationResponse>();
    let page = doc.paginated::<FilePublicationResponse>();
    let req = doc.schema::<P::Create>();
    let async_op = doc.schema::<depot_core::models::AsyncOperationResponse>();
    let filters = openapi::list_filters(
        &["repository", "repository_version"],
        &["pulp_href__in", "prn__in", "pulp_id__in"],
    );
    let detail = format!("{{{}}}", P::HREF_PARAM);
    let id = |action: &str| format!("{}_{action}", P::PREFIX);
    let p = || openapi::href_param(P::HREF_PARAM);
    doc.add(
        Op::new("get", P::BASE, id("list"), P::TAG)
            .params(filters)
            .response(200, Some(page)),
    );
    doc.add(
        Op::new("post", P::BASE, id("create"), P::TAG)
            .body(req, JSON_FORM_MULTIPART)
            .response(202, Some(async_op)),
    );
    doc.add(
        Op::new("get", detail.clone(), id("read"), P::TAG)
            .param(p())
            .params(openapi::field_params())
            .response(200, Some(resp)),
    );
    doc.add(
        Op::new("delete", detail, id("delete"), P::TAG)
            .param(p())
            .response(204, None),
    );
}

//! `publications/file/file/`: publishing repository versions.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::CoreError;
use depot_core::hrefs::{Kind, parse_version_href};
use depot_core::models::list::{Bind, ListQuery};
use depot_core::models::publication::{self, FROM, FilePublicationResponse, Publication, SELECT};
use depot_core::models::{repository, version};
use depot_core::tasks::{Dispatch, PUBLISH_HANDLER};
use depot_http::list::{fetch_page, href_filters};
use depot_http::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};
use depot_http::{
    ApiResult, AppState, Authenticated, CorrelationId, Fields, ListParams, QueryMap, dispatched,
    no_content, ok, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

const BASE: &str = "/pulp/api/v3/publications/file/file/";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}{{id}}/"), get(read).delete(delete))
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

async fn create(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    fields: Fields,
) -> ApiResult<Response> {
    let body: FilePublication = fields.parse()?;
    let v = match (
        body.repository.as_deref(),
        body.repository_version.as_deref(),
    ) {
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
            let id = depot_core::hrefs::resolve(Kind::FileRepository, "repository", h)?;
            let repo = repository::get(&state.db, &id)
                .await
                .map_err(|_| depot_core::hrefs::missing("repository", h))?;
            version::get(&state.db, &id, repo.latest_number).await?
        }
        (None, Some(h)) => {
            let (repo, n) = depot_core::hrefs::resolve_version("repository_version", h)?;
            version::get(&state.db, &repo, n)
                .await
                .map_err(|_| depot_core::hrefs::missing("repository_version", h))?
        }
    };
    let manifest = body.manifest.unwrap_or_else(|| "PULP_MANIFEST".into());
    depot_core::models::content::validate_relative_path(&manifest)
        .map_err(|_| CoreError::field("manifest", "Invalid manifest name."))?;
    let d = Dispatch::new("pulp_file.app.tasks.publishing.publish",
        PUBLISH_HANDLER,
        json!({"repository_version_id": v.id, "manifest": manifest, "checkpoint": body.checkpoint.unwrap_or(false)}),)
        .shared(vec![Kind::FileRepository.prn(&v.repository_id)])
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

async fn list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::new(SELECT, FROM);
    href_filters(&mut q, &query, Kind::FilePublication, "p.id");
    if let Some(h) = query.get("repository_version") {
        let (repo, n) = parse_version_href(h).ok_or_else(|| {
            CoreError::field("repository_version", "Invalid repository version href.")
        })?;
        q.filter(
            "v.repository_id = ? AND v.number = ?",
            vec![Bind::Text(repo), Bind::Int(n)],
        );
    }
    if let Some(h) = query.get("repository") {
        let id = Kind::FileRepository
            .parse_ref(h)
            .ok_or_else(|| CoreError::field("repository", "Invalid repository href."))?;
        q.filter("v.repository_id = ?", vec![Bind::Text(id)]);
    }
    for o in params.order_sql(
        &[("pulp_created", "p.created"), ("pk", "p.id")],
        "p.created DESC",
    )? {
        q.order_by(&o);
    }
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

async fn read(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let p = publication::get(&state.db, &id).await?;
    let resp = publication::response(&state.db, &p).await?;
    shaped(&query, &resp)
}

async fn delete(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    publication::delete(&state.db, &id).await?;
    Ok(no_content())
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<FilePublicationResponse>();
    let page = doc.paginated::<FilePublicationResponse>();
    let req = doc.schema::<FilePublication>();
    let async_op = doc.schema::<depot_core::models::AsyncOperationResponse>();
    let tag = "Publications: File";
    let filters = openapi::list_filters(
        &["repository", "repository_version"],
        &["pulp_href__in", "prn__in", "pulp_id__in"],
    );
    let p = || openapi::href_param("file_file_publication_href");
    doc.add(
        Op::new("get", BASE, "publications_file_file_list", tag)
            .params(filters)
            .response(200, Some(page)),
    );
    doc.add(
        Op::new("post", BASE, "publications_file_file_create", tag)
            .body(req, JSON_FORM_MULTIPART)
            .response(202, Some(async_op)),
    );
    doc.add(
        Op::new(
            "get",
            "{file_file_publication_href}",
            "publications_file_file_read",
            tag,
        )
        .param(p())
        .params(openapi::field_params())
        .response(200, Some(resp)),
    );
    doc.add(
        Op::new(
            "delete",
            "{file_file_publication_href}",
            "publications_file_file_delete",
            tag,
        )
        .param(p())
        .response(204, None),
    );
}

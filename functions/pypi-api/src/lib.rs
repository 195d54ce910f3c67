//! The Python package index under `/pypi/<base_path>/`, as pulp_python serves it: the simple
//! API (`simple/`, `simple/<project>/`: PEP 503 HTML or PEP 691 JSON, chosen by `Accept` with
//! its q-values), the PyPI JSON API (`pypi/<project>[/<version>]/json`) and the upload API
//! twine and `uv publish` use (`legacy/`, or a POST to `simple/`). Files are served by the
//! content app, at `<content origin><content path prefix><base_path>/<filename>`.

mod json_api;
mod pull_through;
mod simple;
mod upload;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use depot_core::{CoreError, CoreResult};
use depot_http::{ApiError, AppState};
use depot_python::DISTRIBUTION_TYPE;
use sqlx::Row;

pub fn router() -> Router<AppState> {
    Router::new().route("/pypi/{*rest}", any(handle))
}

/// A python distribution and the repository version it serves.
pub struct Index {
    pub base_path: String,
    pub repository_id: Option<String>,
    pub number: i64,
    pub allow_uploads: bool,
    /// A pull-through index: projects it lacks come from this remote's index on first request.
    pub remote_id: Option<String>,
}

impl Index {
    /// Where the content app serves `filename`.
    pub fn file_url(&self, state: &AppState, filename: &str) -> String {
        let s = &state.settings;
        format!(
            "{}{}{}/{filename}",
            s.content_origin, s.content_path_prefix, self.base_path
        )
    }
}

/// The python distribution whose base path is the longest prefix of `path`, with the rest.
async fn find(state: &AppState, path: &str) -> CoreResult<Option<(Index, String)>> {
    use depot_core::models::distribution::{
        base_path_candidates, base_path_in, bind_base_path_candidates,
    };
    // Every prefix of the path that ends before a `/` may be a base path.
    let Some((head, _)) = path.rsplit_once('/') else {
        return Ok(None);
    };
    let candidates = base_path_candidates(head);
    if candidates.is_empty() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT d.base_path, COALESCE(d.repository_id, v.repository_id) AS rid, \
         COALESCE(v.number, r.latest_number) AS number, d.allow_uploads AS allow_uploads, d.remote_id \
         FROM distributions d \
         LEFT JOIN publications p ON p.id = d.publication_id \
         LEFT JOIN repository_versions v ON v.id = COALESCE(d.repository_version_id, p.repository_version_id) \
         LEFT JOIN repositories r ON r.id = d.repository_id \
         WHERE d.pulp_type = $1 AND {} ORDER BY LENGTH(d.base_path) DESC LIMIT 1",
        base_path_in("d.base_path", 2)
    );
    let q = bind_base_path_candidates(
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(DISTRIBUTION_TYPE),
        &candidates,
    );
    let Some(r) = q.fetch_optional(state.db.pool()).await? else {
        return Ok(None);
    };
    let base_path: String = r.try_get(0)?;
    let rest = path[base_path.len() + 1..].to_string();
    Ok(Some((
        Index {
            base_path,
            repository_id: r.try_get(1)?,
            number: r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
            allow_uploads: depot_core::db::get_bool(&r, "allow_uploads")?,
            remote_id: r.try_get(4)?,
        },
        rest,
    )))
}

/// Adds packages to the repository in a new version (an immediate task holding it) and waits
/// for it. Without `overwrite`, a file name already there makes the task fail.
async fn add_to_repository(
    state: &AppState,
    repository_id: &str,
    content_ids: &[String],
    overwrite: bool,
    user_id: Option<&str>,
) -> CoreResult<depot_core::models::task::Task> {
    let repo = depot_core::models::repository::get(&state.db, repository_id).await?;
    let args = depot_core::tasks::args::RepositoryModify {
        repository_id: repository_id.to_string(),
        add: content_ids.to_vec(),
        remove: Vec::new(),
        remove_all: false,
        base_number: None,
        overwrite,
    };
    let mut d =
        depot_core::tasks::Dispatch::new("pulpcore.app.tasks.repository.add_and_remove", &args)
            .exclusive(vec![repo.prn()])
            .immediate();
    if let Some(u) = user_id {
        d = d.requested_by(u, "");
    }
    let task = depot_core::tasks::dispatch(state, d).await?;
    depot_core::tasks::wait(state, &task.id, std::time::Duration::from_secs(60)).await
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("{what} does not exist.")).into_response()
}

/// A redirect to the same place with the canonical path.
fn redirect(to: String) -> Response {
    let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
    if let Ok(v) = to.parse() {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn handle(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().trim_start_matches("/pypi/").to_string();
    let uploader = if req.method() == Method::POST {
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match upload::authenticate(&state, authorization.as_deref()).await {
            Ok(user) => Some(user),
            Err(refused) => return refused,
        }
    } else {
        None
    };
    let found = match find(&state, &path).await {
        Ok(Some(f)) => f,
        Ok(None) => return not_found("Index"),
        Err(e) => return ApiError(e).into_response(),
    };
    let (index, rest) = found;
    let result = match (req.method().clone(), rest.as_str(), uploader) {
        (Method::POST, "legacy/" | "simple/" | "legacy" | "simple", Some(user)) => {
            upload::handle(&state, &index, &user, req).await
        }
        (Method::GET | Method::HEAD, _, _) => {
            let accept = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            get(&state, &index, &rest, &accept).await
        }
        _ => Ok(StatusCode::METHOD_NOT_ALLOWED.into_response()),
    };
    result.unwrap_or_else(|e| ApiError(e).into_response())
}

async fn get(state: &AppState, index: &Index, rest: &str, accept: &str) -> CoreResult<Response> {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let base = format!("/pypi/{}", index.base_path);
    match segments.as_slice() {
        [] => json_api::summary(state, index).await,
        ["simple"] if !rest.ends_with('/') => Ok(redirect(format!("{base}/simple/"))),
        ["simple"] => simple::index(state, index, accept).await,
        ["simple", project] => {
            let normal = depot_python::names::normalize(project);
            if *project != normal || !rest.ends_with('/') {
                return Ok(redirect(format!("{base}/simple/{normal}/")));
            }
            simple::project(state, index, &normal, accept).await
        }
        ["pypi", project, "json"] => json_api::project(state, index, project, None).await,
        ["pypi", project, version, "json"] => {
            json_api::project(state, index, project, Some(version)).await
        }
        _ => Err(CoreError::NotFound("Not found.".into())),
    }
}

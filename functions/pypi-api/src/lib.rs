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
use depot_http::content_guard::{self, GuardRequest};
use depot_http::{ApiError, AppState};
pub use depot_python::index::Index;

pub fn router() -> Router<AppState> {
    Router::new().route("/pypi/{*rest}", any(handle))
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
        base_repository_id: None,
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
    if !state.settings.domain_enabled {
        return serve(&state, req, path).await;
    }
    // `/pypi/<domain>/<base_path>/...`: the rest is served in that domain.
    let Some((name, rest)) = path.split_once('/') else {
        return not_found("Index");
    };
    let (parts, body) = req.into_parts();
    let found = match depot_http::domains::named(&state, name, &parts).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found("Index"),
        Err(e) => return ApiError(e).into_response(),
    };
    let rest = rest.to_string();
    let req = Request::from_parts(parts, body);
    depot_core::domain::within(found, serve(&state, req, rest)).await
}

/// Serves the index request whose path below the index root is `path`.
async fn serve(state: &AppState, req: Request, path: String) -> Response {
    let state = state.clone();
    let uploader = if req.method() == Method::POST {
        match upload::authenticate(&state, req.headers(), req.extensions()).await {
            Ok(user) => Some(user),
            Err(refused) => return refused,
        }
    } else {
        None
    };
    let found = match depot_python::index::find(&state.db, &path).await {
        Ok(Some(f)) => f,
        Ok(None) => return not_found("Index"),
        Err(e) => return ApiError(e).into_response(),
    };
    let (index, rest) = found;
    // A guarded index says nothing (not even which projects it has) to whom its guard refuses.
    let (parts, body) = req.into_parts();
    if let Some(guard) = &index.content_guard {
        let asked = GuardRequest {
            method: &parts.method,
            headers: &parts.headers,
            extensions: &parts.extensions,
            path: parts.uri.path(),
            query: parts.uri.query(),
        };
        match content_guard::permit(&state, guard, &asked).await {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => return content_guard::refused(&reason),
            Err(e) => return ApiError(e).into_response(),
        }
    }
    answer(
        &state,
        index,
        rest,
        uploader,
        Request::from_parts(parts, body),
    )
    .await
}

/// The index's answer to a request that may see it.
async fn answer(
    state: &AppState,
    index: Index,
    rest: String,
    uploader: Option<depot_core::users::User>,
    req: Request,
) -> Response {
    let result = match (req.method().clone(), rest.as_str(), uploader) {
        (Method::POST, "legacy/" | "simple/" | "legacy" | "simple", Some(user)) => {
            upload::handle(state, &index, &user, req).await
        }
        (Method::GET | Method::HEAD, _, _) => {
            let accept = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            get(state, &index, &rest, &accept).await
        }
        _ => Ok(StatusCode::METHOD_NOT_ALLOWED.into_response()),
    };
    result.unwrap_or_else(|e| ApiError(e).into_response())
}

async fn get(state: &AppState, index: &Index, rest: &str, accept: &str) -> CoreResult<Response> {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let base = format!("{}{}", depot_core::domain::pypi_root(), index.base_path);
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

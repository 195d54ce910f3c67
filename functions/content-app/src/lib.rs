//! The content app: `/pulp/content/<base_path>/<relative_path>`. The distribution is the longest
//! base-path prefix of the request path. Files are served from storage with Range support; a file
//! synced `on_demand` is streamed from its remote to the client while being verified and saved.

mod listing;
mod mime;
mod serve;

use listing::listing;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use depot_core::models::serving::{self, DirEntry, Matched, Served};
use depot_core::models::{distributed, publication};
use depot_core::{CoreResult, domain};
use std::sync::Arc;

use depot_core::models::content_guard::{self as guards, Loaded};
use depot_http::content_guard::{self, GuardRequest};
use depot_http::{ApiError, AppState};

const CONTENT_ROOT: &str = "/pulp/content/";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(CONTENT_ROOT, get(root))
        .route(
            CONTENT_ROOT.trim_end_matches('/'),
            get(|| async { redirect(CONTENT_ROOT) }),
        )
        .route("/pulp/content/{*path}", get(handle))
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "<html><body><h1>404: Not Found</h1></body></html>".into(),
    )
}

/// Why a distribution that names nothing to serve answers 404: Pulp says it in the status
/// line's reason, where its tests and clients read it, and in the body.
const POINTS_NOWHERE: &str =
    "Distribution is not pointing to a publication, repository, repository version, or remote.";

fn points_nowhere() -> Response {
    let mut r = (StatusCode::NOT_FOUND, format!("404: {POINTS_NOWHERE}")).into_response();
    r.extensions_mut()
        .insert(hyper::ext::ReasonPhrase::from_static(
            POINTS_NOWHERE.as_bytes(),
        ));
    r
}

async fn root(State(state): State<AppState>) -> Response {
    if state.settings.domain_enabled {
        // Which domains exist is no one's business here.
        return listing(&shown(&state, CONTENT_ROOT), true, &[]);
    }
    match distribution_names(&state, "").await {
        Ok(names) => listing(&shown(&state, CONTENT_ROOT), true, &names),
        Err(e) => ApiError(e).into_response(),
    }
}

/// Base paths (as directory entries) below `prefix` of visible distributions.
async fn distribution_names(state: &AppState, prefix: &str) -> CoreResult<Vec<DirEntry>> {
    let mut names = std::collections::BTreeSet::new();
    for bp in serving::listed_base_paths(&state.db).await? {
        if let Some(rest) = bp.strip_prefix(prefix) {
            let first = rest.split('/').next().unwrap_or_default();
            if !first.is_empty() {
                names.insert(format!("{first}/"));
            }
        }
    }
    Ok(names.into_iter().map(DirEntry::dir).collect())
}

/// The parts of a request the content app looks at (a `Request` itself is not `Sync`): its
/// method and range, and for content guards its headers and query.
pub(crate) struct ReqInfo {
    pub method: Method,
    pub range: Option<String>,
    pub parts: Parts,
}

async fn handle(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let info = ReqInfo {
        method: parts.method.clone(),
        range: parts
            .headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        parts,
    };
    if !state.settings.domain_enabled {
        return serve_path(&state, &info, CONTENT_ROOT.into()).await;
    }
    // `/pulp/content/<domain>/<base_path>/...`: the rest is served in that domain.
    let path = info.parts.uri.path();
    let name = path
        .strip_prefix(CONTENT_ROOT)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    match domain::find(&state, name).await {
        Ok(Some(found)) => {
            let prefix = format!("{CONTENT_ROOT}{name}/");
            if path.len() < prefix.len() {
                return redirect(&prefix);
            }
            domain::within(found, serve_path(&state, &info, prefix)).await
        }
        Ok(None) => not_found(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// Serves the request, whose path is under `prefix` (the content root, or a domain's).
async fn serve_path(state: &AppState, info: &ReqInfo, prefix: String) -> Response {
    let path = info.parts.uri.path().to_string();
    if let Some(file) = state.serving_cache.get(&path) {
        if let Some(guard) = &file.guard {
            match guarded(state, &info.parts, guard).await {
                Ok(None) => {}
                Ok(Some(refused)) => return refused,
                Err(e) => return ApiError(e).into_response(),
            }
        }
        return match serve::cached(state, info, file).await {
            Ok(r) => r,
            Err(e) => ApiError(e).into_response(),
        };
    }
    match resolve(state, info, path, &prefix).await {
        Ok(r) => r,
        Err(e) => ApiError(e).into_response(),
    }
}

async fn resolve(
    state: &AppState,
    req: &ReqInfo,
    raw_path: String,
    prefix: &str,
) -> CoreResult<Response> {
    if req.method != Method::GET && req.method != Method::HEAD {
        return Ok(StatusCode::METHOD_NOT_ALLOWED.into_response());
    }
    let generation = state.serving_cache.generation();
    let path = percent_decode(raw_path.strip_prefix(prefix).unwrap_or_default());
    if path.split('/').any(|s| s == "..") {
        return Ok(not_found());
    }
    let Some(Matched {
        id: distribution_id,
        base_path,
        rest,
        served,
        content_guard,
        checkpoint_repository,
        points_nowhere: nowhere,
    }) = serving::match_path(&state.db, path.trim_end_matches('/')).await?
    else {
        let below = if path.ends_with('/') || path.is_empty() {
            path.clone()
        } else {
            format!("{path}/")
        };
        let names = distribution_names(state, &below).await?;
        // A domain's root lists its distributions, none too (probes ask it).
        if names.is_empty() && raw_path != prefix {
            return Ok(not_found());
        }
        if !raw_path.ends_with('/') {
            return Ok(redirect(&format!("{raw_path}/")));
        }
        return Ok(listing(
            &shown(state, &raw_path),
            raw_path == prefix,
            &names,
        ));
    };
    // A guarded distribution: nothing of it, not even whether a path exists, before the
    // guard lets the request through (the serving cache asks it again each time).
    let guard = match &content_guard {
        Some(id) => guards::load(&state.db, id).await?.map(Arc::new),
        None => None,
    };
    if let Some(loaded) = &guard
        && let Some(refused) = guarded(state, &req.parts, loaded).await?
    {
        return Ok(refused);
    }
    let (rest, served) = match checkpoint_repository {
        None => (rest, served),
        Some(repo) => {
            if rest.is_empty() {
                if !raw_path.ends_with('/') {
                    return Ok(redirect(&format!("{raw_path}/")));
                }
                let names: Vec<DirEntry> = publication::checkpoints(&state.db, &repo)
                    .await?
                    .into_iter()
                    .map(|c| DirEntry {
                        name: format!("{}/", c.name),
                        created: Some(c.created),
                        size: None,
                    })
                    .collect();
                return Ok(listing(&shown(state, &raw_path), false, &names));
            }
            match checkpoint(state, &repo, &rest).await? {
                Checkpoint::Missing => return Ok(not_found()),
                Checkpoint::Elsewhere(ts, more) => {
                    // Temporary: a later checkpoint may answer the same time differently
                    // once retention drops one.
                    let mut r = redirect(&format!("{prefix}{base_path}/{ts}/{more}"));
                    *r.status_mut() = StatusCode::FOUND;
                    return Ok(r);
                }
                Checkpoint::Serves(more, s) => (more, Some(s)),
            }
        }
    };
    let is_dir_request = path.ends_with('/') || rest.is_empty();
    if rest.is_empty() && !raw_path.ends_with('/') {
        return Ok(redirect(&format!("{raw_path}/")));
    }
    let Some(served) = served else {
        if nowhere {
            return Ok(points_nowhere());
        }
        return Ok(not_found());
    };
    let dir = if is_dir_request {
        rest.trim_end_matches('/').to_string()
    } else {
        String::new()
    };
    if !is_dir_request && let Some(file) = serving::find_file(&state.db, &served, &rest).await? {
        serve::remember(state, &raw_path, generation, (&file, &rest), guard.as_ref());
        return serve::entry(state, req, file, &rest).await;
    }
    // A file of the publication served before, within its retention (not remembered: it
    // expires).
    if !is_dir_request
        && let Some(file) = distributed::find_file(state, &distribution_id, &rest).await?
    {
        return serve::entry(state, req, file, &rest).await;
    }
    // A directory: serve its index.html if there is one, else list it.
    let prefix = if is_dir_request {
        if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        }
    } else {
        format!("{rest}/")
    };
    if let Some(file) =
        serving::find_file(&state.db, &served, &format!("{prefix}index.html")).await?
    {
        return serve::entry(state, req, file, "index.html").await;
    }
    let names = serving::list_dir(&state.db, &served, &prefix).await?;
    if names.is_empty() {
        return Ok(not_found());
    }
    if !is_dir_request {
        return Ok(redirect(&format!("{raw_path}/")));
    }
    Ok(listing(&shown(state, &raw_path), false, &names))
}

/// A path of the content app as clients reach it.
fn shown(state: &AppState, path: &str) -> String {
    depot_http::public_paths::public_content_path(state, path)
}

/// What a path below a checkpoint distribution names.
enum Checkpoint {
    Missing,
    /// Another checkpoint's name serves it (the newest before the one asked for): the name and
    /// the rest of the path.
    Elsewhere(String, String),
    /// The publication of the checkpoint asked for, and the path within it.
    Serves(String, Served),
}

/// Resolves `<timestamp>[/path]` below a checkpoint distribution of repository `repo`.
async fn checkpoint(state: &AppState, repo: &str, rest: &str) -> CoreResult<Checkpoint> {
    let (name, more) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(found) = publication::checkpoint_at(&state.db, repo, name).await? else {
        return Ok(Checkpoint::Missing);
    };
    if found.name != name {
        return Ok(Checkpoint::Elsewhere(found.name, more.to_string()));
    }
    let served = Served {
        repository_id: repo.to_string(),
        number: found.number,
        publication_id: Some(found.publication_id),
    };
    Ok(Checkpoint::Serves(more.to_string(), served))
}

/// The refusal of `guard` to the request, if it refuses.
async fn guarded(state: &AppState, parts: &Parts, guard: &Loaded) -> CoreResult<Option<Response>> {
    let asked = GuardRequest {
        method: &parts.method,
        headers: &parts.headers,
        extensions: &parts.extensions,
        path: parts.uri.path(),
        query: parts.uri.query(),
    };
    Ok(content_guard::permit_loaded(state, guard, &asked)
        .await?
        .err()
        .map(|reason| content_guard::refused(&reason)))
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

//! The content app: `/pulp/content/<base_path>/<relative_path>`. The distribution is the longest
//! base-path prefix of the request path. Files are served from storage with Range support; a file
//! synced `on_demand` is streamed from its remote to the client while being verified and saved.

mod serve;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use depot_core::models::distribution::{self, Distribution};
use depot_core::models::{publication, repository, version};
use depot_core::{CoreError, CoreResult};
use depot_http::{ApiError, AppState};
use sqlx::{AssertSqlSafe, Row};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pulp/content/", get(root))
        .route("/pulp/content/{*path}", get(handle))
}

/// What a request resolved to within a distribution.
pub(crate) enum Entry {
    /// A stored artifact: (storage key, size).
    Artifact(String, i64),
    /// A content artifact with no stored bytes yet: fetch on demand.
    Remote {
        content_artifact_id: String,
        content_id: String,
    },
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r
}

fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "<html><body><h1>404: Not Found</h1></body></html>".into(),
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn listing(path: &str, names: &[String]) -> Response {
    let items: String = names
        .iter()
        .map(|n| format!("<a href=\"{0}\">{0}</a>\n", escape(n)))
        .collect();
    html(
        StatusCode::OK,
        format!(
            "<html><head><title>Index of {0}</title></head><body><h1>Index of {0}</h1><hr><pre>{items}</pre><hr></body></html>",
            escape(path)
        ),
    )
}

async fn root(State(state): State<AppState>) -> Response {
    match distribution_names(&state, "").await {
        Ok(names) => listing("/pulp/content/", &names),
        Err(e) => ApiError(e).into_response(),
    }
}

/// Base paths (as directory entries) below `prefix` of visible distributions.
async fn distribution_names(state: &AppState, prefix: &str) -> CoreResult<Vec<String>> {
    let rows =
        sqlx::query("SELECT base_path FROM distributions WHERE hidden = $1 ORDER BY base_path")
            .bind(false)
            .fetch_all(state.db.pool())
            .await?;
    let mut names: Vec<String> = Vec::new();
    for r in rows {
        let bp: String = r.try_get(0)?;
        if let Some(rest) = bp.strip_prefix(prefix) {
            let first = rest.split('/').next().unwrap_or_default();
            let entry = format!("{first}/");
            if !first.is_empty() && !names.contains(&entry) {
                names.push(entry);
            }
        }
    }
    Ok(names)
}

/// The parts of a request the content app looks at (a `Request` itself is not `Sync`).
pub(crate) struct ReqInfo {
    pub method: Method,
    pub range: Option<String>,
}

async fn handle(State(state): State<AppState>, req: Request) -> Response {
    let info = ReqInfo {
        method: req.method().clone(),
        range: req
            .headers()
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    let path = req.uri().path().to_string();
    match resolve(&state, &info, path).await {
        Ok(r) => r,
        Err(e) => ApiError(e).into_response(),
    }
}

/// The repository version and publication a distribution serves right now.
async fn serving(
    state: &AppState,
    d: &Distribution,
) -> CoreResult<(Option<version::Version>, Option<publication::Publication>)> {
    if let Some(p) = &d.publication_id {
        let p = publication::get(&state.db, p).await?;
        let v = version::get_by_id(&state.db, &p.repository_version_id).await?;
        return Ok((Some(v), Some(p)));
    }
    let v = match (&d.repository_version_id, &d.repository_id) {
        (Some(v), _) => Some(version::get_by_id(&state.db, v).await?),
        (None, Some(r)) => {
            let repo = repository::get(&state.db, r).await?;
            Some(version::get(&state.db, r, repo.latest_number).await?)
        }
        (None, None) => None,
    };
    let p = match &v {
        Some(v) => publication::latest_for_version(&state.db, &v.id).await?,
        None => None,
    };
    Ok((v, p))
}

async fn resolve(state: &AppState, req: &ReqInfo, raw_path: String) -> CoreResult<Response> {
    if req.method != Method::GET && req.method != Method::HEAD {
        return Ok(StatusCode::METHOD_NOT_ALLOWED.into_response());
    }
    let path = percent_decode(raw_path.strip_prefix("/pulp/content/").unwrap_or_default());
    if path.split('/').any(|s| s == "..") {
        return Ok(not_found());
    }
    let Some((dist, rest)) =
        distribution::match_path(&state.db, path.trim_end_matches('/')).await?
    else {
        let prefix = if path.ends_with('/') || path.is_empty() {
            path.clone()
        } else {
            format!("{path}/")
        };
        let names = distribution_names(state, &prefix).await?;
        if names.is_empty() {
            return Ok(not_found());
        }
        if !raw_path.ends_with('/') {
            return Ok(redirect(&format!("{raw_path}/")));
        }
        return Ok(listing(&raw_path, &names));
    };
    let is_dir_request = path.ends_with('/') || rest.is_empty();
    if rest.is_empty() && !raw_path.ends_with('/') {
        return Ok(redirect(&format!("{raw_path}/")));
    }
    let (v, p) = serving(state, &dist).await?;
    let Some(v) = v else { return Ok(not_found()) };
    let dir = if is_dir_request {
        rest.trim_end_matches('/').to_string()
    } else {
        String::new()
    };
    if !is_dir_request && let Some(entry) = lookup(state, &v, p.as_ref(), &rest).await? {
        return serve::entry(state, req, entry, &rest).await;
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
    if let Some(entry) = lookup(state, &v, p.as_ref(), &format!("{prefix}index.html")).await? {
        return serve::entry(state, req, entry, "index.html").await;
    }
    let names = list_dir(state, &v, p.as_ref(), &prefix).await?;
    if names.is_empty() {
        return Ok(not_found());
    }
    if !is_dir_request {
        return Ok(redirect(&format!("{raw_path}/")));
    }
    Ok(listing(&raw_path, &names))
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

/// Finds one file: in the publication when there is one, else in the version's content.
async fn lookup(
    state: &AppState,
    v: &version::Version,
    p: Option<&publication::Publication>,
    rel: &str,
) -> CoreResult<Option<Entry>> {
    if let Some(p) = p {
        let row = sqlx::query(
            "SELECT pf.artifact_id, pf.content_artifact_id FROM published_files pf WHERE pf.publication_id = $1 AND pf.relative_path = $2",
        )
        .bind(&p.id)
        .bind(rel)
        .fetch_optional(state.db.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        if let Some(artifact_id) = row.try_get::<Option<String>, _>(0)? {
            let a = depot_core::models::artifact::get(&state.db, &artifact_id).await?;
            return Ok(Some(Entry::Artifact(a.file, a.digests.size as i64)));
        }
        let ca: Option<String> = row.try_get(1)?;
        return match ca {
            Some(ca) => content_artifact_entry(state, &ca).await,
            None => Ok(None),
        };
    }
    let sql = format!(
        "SELECT ca.id FROM repository_contents rc JOIN content_artifacts ca ON ca.content_id = rc.content_id \
         WHERE {} AND ca.relative_path = $3",
        version::present_condition(1, 2)
    );
    let ca: Option<String> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(&v.repository_id)
        .bind(v.number)
        .bind(rel)
        .fetch_optional(state.db.pool())
        .await?;
    match ca {
        Some(ca) => content_artifact_entry(state, &ca).await,
        None => Ok(None),
    }
}

async fn content_artifact_entry(state: &AppState, ca_id: &str) -> CoreResult<Option<Entry>> {
    let row = sqlx::query(
        "SELECT ca.content_id, a.file, a.size FROM content_artifacts ca LEFT JOIN artifacts a ON a.id = ca.artifact_id WHERE ca.id = $1",
    )
    .bind(ca_id)
    .fetch_optional(state.db.pool())
    .await?
    .ok_or_else(|| CoreError::NotFound("Not found.".into()))?;
    let content_id: String = row.try_get(0)?;
    Ok(Some(match row.try_get::<Option<String>, _>(1)? {
        Some(file) => Entry::Artifact(file, row.try_get::<Option<i64>, _>(2)?.unwrap_or(0)),
        None => Entry::Remote {
            content_artifact_id: ca_id.to_string(),
            content_id,
        },
    }))
}

/// Entries directly below `prefix`: files, and sub-directories with a trailing slash.
async fn list_dir(
    state: &AppState,
    v: &version::Version,
    p: Option<&publication::Publication>,
    prefix: &str,
) -> CoreResult<Vec<String>> {
    let paths: Vec<String> = match p {
        Some(p) => sqlx::query_scalar("SELECT relative_path FROM published_files WHERE publication_id = $1 ORDER BY relative_path")
            .bind(&p.id)
            .fetch_all(state.db.pool())
            .await?,
        None => {
            let sql = format!(
                "SELECT ca.relative_path FROM repository_contents rc JOIN content_artifacts ca ON ca.content_id = rc.content_id \
                 WHERE {} ORDER BY ca.relative_path",
                version::present_condition(1, 2)
            );
            sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(&v.repository_id)
                .bind(v.number)
                .fetch_all(state.db.pool())
                .await?
        }
    };
    let mut names: Vec<String> = Vec::new();
    for path in paths {
        if let Some(rest) = path.strip_prefix(prefix) {
            let entry = match rest.split_once('/') {
                Some((d, _)) => format!("{d}/"),
                None => rest.to_string(),
            };
            if !entry.is_empty() && !names.contains(&entry) {
                names.push(entry);
            }
        }
    }
    Ok(names)
}

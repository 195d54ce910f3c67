//! `GET /v2/_catalog` and `GET /v2/<name>/tags/list`, paged with `n` and `last` and a `Link`
//! header to the next page when a page is full.

use std::collections::HashMap;

use axum::http::{StatusCode, header};
use axum::response::Response;
use depot_container::RegistryError;
use depot_container::store::{self, Repo};
use depot_core::domain::Current;
use depot_http::AppState;
use serde_json::json;

use crate::access::Asker;
use crate::{Result, header_value, json_response};

/// The most entries one page may hold.
const MAX_PAGE: i64 = 1000;

struct Page {
    n: Option<i64>,
    last: Option<String>,
}

fn page(query: &str) -> Result<Page> {
    let q: HashMap<String, String> = serde_urlencoded::from_str(query).unwrap_or_default();
    let n = match q.get("n") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    RegistryError::Unsupported(format!("n={v} is not a valid page size"))
                })?
                .min(MAX_PAGE),
        ),
    };
    Ok(Page {
        n,
        last: q.get("last").cloned().filter(|l| !l.is_empty()),
    })
}

/// A page of `items`; the `Link` to the next one starts after `next`, when a page is full
/// (or after what a shorter page looked at, `scanned`).
fn paged(
    path: &str,
    key: &str,
    name: Option<&str>,
    items: Vec<String>,
    p: &Page,
    scanned: Option<String>,
) -> Response {
    let mut body = serde_json::Map::new();
    if let Some(name) = name {
        body.insert("name".into(), json!(name));
    }
    let next = match (p.n, items.last()) {
        (Some(n), Some(last)) if n > 0 && items.len() as i64 == n => Some(last.clone()),
        _ => scanned.filter(|_| p.n.is_some()),
    };
    body.insert(key.into(), json!(items));
    let mut r = json_response(StatusCode::OK, serde_json::Value::Object(body).to_string());
    if let (Some(n), Some(last)) = (p.n, next) {
        let query =
            serde_urlencoded::to_string([("n", n.to_string()), ("last", last)]).unwrap_or_default();
        r.headers_mut().insert(
            header::LINK,
            header_value(&format!("<{path}?{query}>; rel=\"next\"")),
        );
    }
    r
}

/// Repositories looked at for one catalog page at most: a caller who may pull few of many
/// private ones gets a short page and a link onwards, never an unbounded scan.
const MAX_SCAN: i64 = MAX_PAGE;

/// The repositories the caller may pull from, with domains on of every domain, named
/// `<domain>/<base_path>`: public ones for anyone, private ones for who may pull them
/// (superusers, and holders of the pull permission on the distribution or its namespace,
/// given on it, on its domain or model-wide).
pub async fn catalog(state: &AppState, asker: &Asker, query: &str) -> Result<Response> {
    // Without `n`, pages of the most one may hold, linked onwards.
    let mut p = page(query)?;
    let want = p.n.unwrap_or(MAX_PAGE);
    p.n = Some(want);
    let across = state.settings.domain_enabled;
    let signed_in = asker.user().is_some();
    let (mut names, mut last, mut scanned) = (Vec::new(), p.last.clone(), 0);
    // Each domain's grants, read once: roles given on a domain count only in it.
    let mut askers: HashMap<String, Asker> = HashMap::new();
    let mut short = None;
    while (names.len() as i64) < want {
        let batch = (want - names.len() as i64).clamp(1, MAX_PAGE);
        let rows = store::catalog(&state.db, across, signed_in, last.as_deref(), batch).await?;
        let ended = (rows.len() as i64) < batch;
        for row in rows {
            scanned += 1;
            last = Some(row.name.clone());
            if !row.private || may_pull(state, asker, &mut askers, &row).await? {
                names.push(row.name);
            }
        }
        if ended {
            break;
        }
        if scanned >= MAX_SCAN {
            short = last.clone();
            break;
        }
    }
    Ok(paged(
        "/v2/_catalog",
        "repositories",
        None,
        names,
        &p,
        short,
    ))
}

/// Whether the caller may pull the private repository `row`, asked in its domain.
async fn may_pull(
    state: &AppState,
    asker: &Asker,
    askers: &mut HashMap<String, Asker>,
    row: &store::Listed,
) -> Result<bool> {
    let Some(user) = asker.user() else {
        return Ok(false);
    };
    if user.is_superuser {
        return Ok(true);
    }
    let (id, name) = &row.domain;
    let domain = Current::new(id, name, state.settings.domain_enabled);
    let check = async {
        if !askers.contains_key(id) {
            askers.insert(id.clone(), Asker::of(state, Some(user.clone())).await?);
        }
        let Some(repo) = store::find(&state.db, &row.base_path).await? else {
            return Ok(false);
        };
        Ok::<_, crate::Error>(askers[id].may_pull(state, &repo).await?)
    };
    depot_core::domain::within(domain, check).await
}

pub async fn tags(state: &AppState, repo: &Repo, query: &str) -> Result<Response> {
    let p = page(query)?;
    let tags = store::tags(&state.db, repo, p.last.as_deref(), p.n).await?;
    let path = format!("{}/tags/list", crate::v2_path(&repo.name));
    Ok(paged(&path, "tags", Some(&repo.name), tags, &p, None))
}

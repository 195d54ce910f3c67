//! `GET /v2/_catalog` and `GET /v2/<name>/tags/list`, paged with `n` and `last` and a `Link`
//! header to the next page when a page is full.

use std::collections::HashMap;

use axum::http::{StatusCode, header};
use axum::response::Response;
use depot_container::RegistryError;
use depot_container::store::{self, Repo};
use depot_core::users::User;
use depot_http::AppState;
use serde_json::json;

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

fn paged(path: &str, key: &str, name: Option<&str>, items: Vec<String>, p: &Page) -> Response {
    let mut body = serde_json::Map::new();
    if let Some(name) = name {
        body.insert("name".into(), json!(name));
    }
    let next = match (p.n, items.last()) {
        (Some(n), Some(last)) if n > 0 && items.len() as i64 == n => Some(last.clone()),
        _ => None,
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

/// The repositories: with domains on, of every domain, named `<domain>/<base_path>`.
pub async fn catalog(state: &AppState, user: Option<&User>, query: &str) -> Result<Response> {
    let p = page(query)?;
    let (private, last) = (user.is_some(), p.last.as_deref());
    let names = match state.settings.domain_enabled {
        true => store::catalog_of_domains(&state.db, private, last, p.n).await?,
        false => store::catalog(&state.db, private, last, p.n).await?,
    };
    Ok(paged("/v2/_catalog", "repositories", None, names, &p))
}

pub async fn tags(state: &AppState, repo: &Repo, query: &str) -> Result<Response> {
    let p = page(query)?;
    let tags = store::tags(&state.db, repo, p.last.as_deref(), p.n).await?;
    let path = format!("{}/tags/list", crate::v2_path(&repo.name));
    Ok(paged(&path, "tags", Some(&repo.name), tags, &p))
}

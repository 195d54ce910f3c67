//! The simple repository API: the project list and each project's files, as PEP 503 HTML or
//! PEP 691 JSON. The format follows the client's `Accept` header with its q-values (pip and uv
//! ask for JSON first); a bare `*/*` or no header gets HTML, as older clients expect.

use std::str::FromStr;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_core::CoreResult;
use depot_http::AppState;
use depot_http::html::escape;
use depot_python::store::{self, Package};
use serde_json::{Value, json};

use crate::{Index, not_found};

const JSON: &str = "application/vnd.pypi.simple.v1+json";
const HTML_V1: &str = "application/vnd.pypi.simple.v1+html";
const HTML: &str = "text/html";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    HtmlV1,
    Html,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Json => JSON,
            Format::HtmlV1 => HTML_V1,
            Format::Html => "text/html; charset=utf-8",
        }
    }
}

/// The format an `Accept` header asks for: the highest q-value wins; at equal q an exact media
/// type beats a wildcard; among exact types JSON is preferred, among wildcards HTML.
pub fn negotiate(accept: &str) -> Format {
    let candidates = [
        (
            Format::Json,
            JSON,
            "application/vnd.pypi.simple.latest+json",
        ),
        (
            Format::HtmlV1,
            HTML_V1,
            "application/vnd.pypi.simple.latest+html",
        ),
        (Format::Html, HTML, HTML),
    ];
    let entries: Vec<(String, f32)> = accept
        .split(',')
        .map(|entry| {
            let mut parts = entry.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| f32::from_str(q.trim()).ok())
                .unwrap_or(1.0);
            (media, q)
        })
        .collect();
    // A type named with q=0 is refused, whatever wildcard would match it.
    let refused = |exact: &str| entries.iter().any(|(m, q)| m == exact && *q <= 0.0);
    let mut best: Option<((u32, u8, u8), Format)> = None;
    for (media, q) in &entries {
        let (media, q) = (media.as_str(), *q);
        if q <= 0.0 {
            continue;
        }
        for (i, (format, exact, alias)) in candidates.iter().enumerate() {
            if refused(exact) {
                continue;
            }
            let specificity = if media == *exact || media == *alias {
                2
            } else if (media == "text/*" && *format == Format::Html)
                || (media == "application/*" && *format != Format::Html)
            {
                1
            } else if media == "*/*" {
                0
            } else {
                continue;
            };
            let preference = if specificity == 2 {
                2 - i as u8
            } else {
                i as u8
            };
            let score = ((q * 1000.0) as u32, specificity, preference);
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, *format));
            }
        }
    }
    best.map_or(Format::Html, |(_, f)| f)
}

fn respond(format: Format, body: String) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert("X-PyPI-Last-Serial", HeaderValue::from_static("0"));
    r
}

fn meta() -> Value {
    json!({"api-version": "1.1", "_last-serial": 0})
}

/// `simple/`: every project of the served version.
pub async fn index(state: &AppState, index: &Index, accept: &str) -> CoreResult<Response> {
    let names = match &index.repository_id {
        Some(repo) => store::projects(&state.db, repo, index.number).await?,
        None => Vec::new(),
    };
    let format = negotiate(accept);
    if format == Format::Json {
        let projects: Vec<Value> = names
            .iter()
            .map(|n| json!({"name": n, "_last-serial": 0}))
            .collect();
        return Ok(respond(
            format,
            json!({"meta": meta(), "projects": projects}).to_string(),
        ));
    }
    let mut html = String::from(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"1.1\">\n\
         <title>Simple Index</title>\n</head>\n<body>\n",
    );
    for n in &names {
        let normal = depot_python::names::normalize(n);
        html.push_str(&format!("<a href=\"{normal}/\">{}</a><br>\n", escape(n)));
    }
    html.push_str("</body>\n</html>\n");
    Ok(respond(format, html))
}

/// `simple/<project>/`: the project's files with their hashes, `requires-python` and, for
/// wheels, their core metadata files (PEP 658/714).
pub async fn project(
    state: &AppState,
    index: &Index,
    normal: &str,
    accept: &str,
) -> CoreResult<Response> {
    let mut packages = match &index.repository_id {
        Some(repo) => store::in_version(&state.db, repo, index.number, Some(normal)).await?,
        None => Vec::new(),
    };
    let fetched;
    let mut index = index;
    if packages.is_empty() {
        // A pull-through index brings a missing project in from its remote.
        let Some(i) = crate::pull_through::fetch(state, index, normal).await? else {
            return Ok(not_found(normal));
        };
        fetched = i;
        index = &fetched;
        let repo = index.repository_id.as_deref().unwrap_or_default();
        packages = store::in_version(&state.db, repo, index.number, Some(normal)).await?;
        if packages.is_empty() {
            return Ok(not_found(normal));
        }
    }
    let format = negotiate(accept);
    if format == Format::Json {
        return Ok(respond(
            format,
            project_json(state, index, normal, &packages).to_string(),
        ));
    }
    let mut html = format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"1.1\">\n\
         <title>Links for {0}</title>\n</head>\n<body>\n<h1>Links for {0}</h1>\n",
        escape(normal)
    );
    for p in &packages {
        let mut attrs = String::new();
        if let Some(rp) = &p.requires_python {
            attrs.push_str(&format!(" data-requires-python=\"{}\"", escape(rp)));
        }
        if let Some(m) = &p.metadata_sha256 {
            attrs.push_str(&format!(
                " data-dist-info-metadata=\"sha256={m}\" data-core-metadata=\"sha256={m}\""
            ));
        }
        html.push_str(&format!(
            "<a href=\"{}#sha256={}\"{attrs}>{}</a><br>\n",
            escape(&index.file_url(&state.settings, &p.filename)),
            p.sha256,
            escape(&p.filename)
        ));
    }
    html.push_str("</body>\n</html>\n");
    Ok(respond(format, html))
}

fn project_json(state: &AppState, index: &Index, normal: &str, packages: &[Package]) -> Value {
    let mut versions: Vec<&str> = packages.iter().map(|p| p.version.as_str()).collect();
    versions.sort_by_key(|v| pep440_rs::Version::from_str(v).ok());
    versions.dedup();
    let files: Vec<Value> = packages
        .iter()
        .map(|p| {
            let core = match &p.metadata_sha256 {
                Some(m) => json!({"sha256": m}),
                None => json!(false),
            };
            json!({
                "filename": p.filename,
                "url": index.file_url(&state.settings, &p.filename),
                "hashes": {"sha256": p.sha256},
                "requires-python": p.requires_python,
                "core-metadata": core,
                "data-dist-info-metadata": core,
                "size": p.size,
                "upload-time": p.created,
                "yanked": false,
            })
        })
        .collect();
    json!({"meta": meta(), "name": normal, "versions": versions, "files": files})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        let pip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
        assert_eq!(negotiate(pip), Format::Json);
        let uv = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";
        assert_eq!(negotiate(uv), Format::Json);
        assert_eq!(negotiate(""), Format::Html);
        assert_eq!(negotiate("*/*"), Format::Html);
        assert_eq!(negotiate("text/html"), Format::Html);
        assert_eq!(
            negotiate("application/vnd.pypi.simple.v1+html"),
            Format::HtmlV1
        );
        assert_eq!(
            negotiate("application/vnd.pypi.simple.v1+json;q=0.5, text/html"),
            Format::Html
        );
        assert_eq!(
            negotiate("application/vnd.pypi.simple.latest+json"),
            Format::Json
        );
        assert_eq!(negotiate("application/json"), Format::Html);
        // text/html refused: of what the wildcard still allows, the v1 HTML type.
        assert_eq!(negotiate("text/html;q=0, */*;q=0.1"), Format::HtmlV1);
    }
}

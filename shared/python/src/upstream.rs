//! Reading another package index (a python remote's `url`): its project list and each
//! project's files, from PEP 691 JSON when it offers it, else from PEP 503 HTML. Then bringing
//! files in: downloaded and verified (`immediate`), or recorded with their upstream URL and
//! fetched on first download (`on_demand`, `streamed`).

use depot_core::download::{self, Extra};
use depot_core::models::remote::{Policy, Remote};
use depot_core::tasks::Progress;
use depot_core::{Core, CoreError, CoreResult};
use futures_util::StreamExt;
use serde_json::Value;

use crate::filename::{self, DistFile};
use crate::filters::Filters;
use crate::names::normalize;
use crate::{ingest, store};

const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// A file an upstream project page lists.
#[derive(Debug, Clone)]
pub struct RemoteFile {
    pub filename: String,
    pub url: String,
    pub sha256: Option<String>,
    pub requires_python: Option<String>,
    pub size: Option<i64>,
}

/// The simple index root of a remote: its url, with `simple/` added unless it ends so.
pub fn simple_root(remote: &Remote) -> String {
    let url = remote.url.trim_end_matches('/');
    if url.ends_with("/simple") {
        format!("{url}/")
    } else {
        format!("{url}/simple/")
    }
}

async fn page(core: &Core, remote: &Remote, url: &str) -> CoreResult<Option<(bool, String)>> {
    let extra = Extra {
        headers: vec![("accept", ACCEPT.to_string())],
        ..Extra::default()
    };
    let r = download::send(core, remote, url, &extra).await?;
    if r.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let r = download::success(r, url)?;
    let json = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    let body = r
        .text()
        .await
        .map_err(|e| CoreError::Remote(format!("Could not read {url}: {e}")))?;
    Ok(Some((json, body)))
}

fn resolve(base: &str, href: &str) -> Option<String> {
    reqwest::Url::parse(base)
        .ok()?
        .join(href)
        .ok()
        .map(|u| u.to_string())
}

/// The projects the upstream index lists.
pub async fn projects(core: &Core, remote: &Remote) -> CoreResult<Vec<String>> {
    let root = simple_root(remote);
    let Some((json, body)) = page(core, remote, &root).await? else {
        return Err(CoreError::Remote(format!("{root} was not found.")));
    };
    if json {
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| CoreError::Remote(format!("{root} is not JSON: {e}")))?;
        return Ok(v["projects"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p["name"].as_str())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default());
    }
    Ok(anchors(&body).into_iter().map(|a| a.text).collect())
}

/// The files of `project` upstream; `None` when the index does not have it.
pub async fn project_files(
    core: &Core,
    remote: &Remote,
    project: &str,
) -> CoreResult<Option<Vec<RemoteFile>>> {
    let url = format!("{}{}/", simple_root(remote), normalize(project));
    let Some((json, body)) = page(core, remote, &url).await? else {
        return Ok(None);
    };
    let mut files = Vec::new();
    if json {
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| CoreError::Remote(format!("{url} is not JSON: {e}")))?;
        for f in v["files"].as_array().into_iter().flatten() {
            let (Some(name), Some(href)) = (f["filename"].as_str(), f["url"].as_str()) else {
                continue;
            };
            let Some(file_url) = resolve(&url, href) else {
                continue;
            };
            files.push(RemoteFile {
                filename: name.to_string(),
                url: file_url,
                sha256: f["hashes"]["sha256"].as_str().map(str::to_ascii_lowercase),
                requires_python: f["requires-python"].as_str().map(str::to_string),
                size: f["size"].as_i64(),
            });
        }
    } else {
        for a in anchors(&body) {
            let (href, fragment) = a.href.split_once('#').unwrap_or((&a.href, ""));
            let Some(file_url) = resolve(&url, href) else {
                continue;
            };
            files.push(RemoteFile {
                filename: a.text.trim().to_string(),
                url: file_url,
                sha256: fragment
                    .strip_prefix("sha256=")
                    .map(str::to_ascii_lowercase),
                requires_python: a.requires_python,
                size: None,
            });
        }
    }
    Ok(Some(files))
}

struct Anchor {
    href: String,
    text: String,
    requires_python: Option<String>,
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The `<a href=..>text</a>` links of a PEP 503 page.
fn anchors(html: &str) -> Vec<Anchor> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<a ").map(|i| at + i) {
        let Some(end) = lower[start..].find('>').map(|i| start + i) else {
            break;
        };
        let Some(close) = lower[end..].find("</a>").map(|i| end + i) else {
            break;
        };
        let attrs = &html[start + 3..end];
        let attr = |name: &str| -> Option<String> {
            let lower_attrs = attrs.to_ascii_lowercase();
            let i = lower_attrs.find(&format!("{name}="))? + name.len() + 1;
            let rest = &attrs[i..];
            let quote = rest.chars().next()?;
            let value = if quote == '"' || quote == '\'' {
                rest[1..].split(quote).next()?
            } else {
                rest.split_whitespace().next()?
            };
            Some(unescape(value))
        };
        if let Some(href) = attr("href") {
            out.push(Anchor {
                href,
                text: unescape(&html[end + 1..close]),
                requires_python: attr("data-requires-python"),
            });
        }
        at = close + 4;
    }
    out
}

/// The files of `project` the remote's filters take, with what their names say.
pub async fn wanted_files(
    core: &Core,
    remote: &Remote,
    filters: &Filters,
    project: &str,
) -> CoreResult<Vec<(DistFile, RemoteFile)>> {
    if !filters.wants_project(project) {
        return Ok(Vec::new());
    }
    let files = project_files(core, remote, project)
        .await?
        .unwrap_or_default();
    let parsed = files
        .into_iter()
        .filter_map(|f| filename::parse(&f.filename).ok().map(|d| (d, f)))
        .collect();
    Ok(filters.select(parsed, |f: &RemoteFile| f.filename.as_str()))
}

/// Brings files in as the remote's policy says and returns their content ids, at most
/// `download_concurrency` at a time, counting them in the progress report `code`.
pub async fn bring_in(
    core: &Core,
    remote: &Remote,
    files: Vec<(DistFile, RemoteFile)>,
    progress: Option<(&Progress, &str)>,
) -> CoreResult<Vec<String>> {
    let concurrency = remote.download_concurrency();
    let mut results = futures_util::stream::iter(files)
        .map(|(dist, f)| async move { one(core, remote, &dist, &f).await })
        .buffer_unordered(concurrency);
    let mut ids = Vec::new();
    while let Some(r) = results.next().await {
        ids.push(r?);
        if let Some((p, code)) = progress {
            p.advance(code, 1).await;
        }
    }
    Ok(ids)
}

async fn one(core: &Core, remote: &Remote, dist: &DistFile, f: &RemoteFile) -> CoreResult<String> {
    // Files already stored are reused, whatever the policy.
    if let Some(sha) = &f.sha256
        && let Some(id) = store::by_sha256(&core.db, sha).await?
    {
        return Ok(id);
    }
    if remote.policy == Policy::Immediate || f.sha256.is_none() {
        // Without a published hash the file cannot be checked later: it is fetched now.
        return download(core, remote, f).await;
    }
    let size = match f.size {
        Some(s) => Some(s),
        None => head_size(core, remote, &f.url).await?,
    };
    store::add_remote(&core.db, dist, f, size, &remote.id).await
}

/// The size upstream says a file has, if it says.
async fn head_size(core: &Core, remote: &Remote, url: &str) -> CoreResult<Option<i64>> {
    let extra = Extra {
        head: true,
        ..Extra::default()
    };
    let r = download::success(download::send(core, remote, url, &extra).await?, url)?;
    Ok(r.headers()
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok()))
}

/// Downloads a file to a temporary file and ingests it (its sha256 checked when published).
async fn download(core: &Core, remote: &Remote, f: &RemoteFile) -> CoreResult<String> {
    let r = download::get(core, remote, &f.url).await?;
    let body = download::body_stream(r).map(|c| c.map_err(CoreError::Remote));
    let path = ingest::to_temp_file(body).await?;
    ingest::file(
        core,
        &path,
        &f.filename,
        f.sha256.as_deref(),
        &Default::default(),
    )
    .await
    .map_err(|e| match e {
        CoreError::Invalid(_) => CoreError::Remote(format!("{}: {e}", f.url)),
        other => other,
    })
}

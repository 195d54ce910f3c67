//! The PyPI JSON API (`pypi/<project>/json`, `pypi/<project>/<version>/json`) and the index's
//! summary at its root.

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::Json;
use axum::response::{IntoResponse, Response};
use depot_core::{CoreError, CoreResult};
use depot_http::AppState;
use depot_python::store::{self, Package};
use pep440_rs::Version;
use serde_json::{Value, json};

use crate::{Index, not_found};

/// `<base_path>/`: how many projects, releases and files the index has.
pub async fn summary(state: &AppState, index: &Index) -> CoreResult<Response> {
    let packages = match &index.repository_id {
        Some(repo) => store::in_version(&state.db, repo, index.number, None).await?,
        None => Vec::new(),
    };
    let mut projects: Vec<&str> = packages
        .iter()
        .map(|p| p.name_normalized.as_str())
        .collect();
    projects.dedup();
    let mut releases: Vec<(&str, &str)> = packages
        .iter()
        .map(|p| (p.name_normalized.as_str(), p.version.as_str()))
        .collect();
    releases.dedup();
    Ok(Json(
        json!({"projects": projects.len(), "releases": releases.len(), "files": packages.len()}),
    )
    .into_response())
}

fn version_of(p: &Package) -> Option<Version> {
    Version::from_str(&p.version).ok()
}

fn file_json(state: &AppState, index: &Index, p: &Package) -> Value {
    json!({
        "comment_text": "",
        "digests": {"sha256": p.sha256},
        "downloads": -1,
        "filename": p.filename,
        "has_sig": false,
        "packagetype": p.packagetype,
        "python_version": p.python_version,
        "requires_python": p.requires_python,
        "size": p.size,
        "upload_time": p.created.trim_end_matches('Z'),
        "upload_time_iso_8601": p.created,
        "url": index.file_url(&state.settings, &p.filename),
        "yanked": false,
        "yanked_reason": null,
    })
}

/// A project's releases, and the metadata of its latest release (the highest final version,
/// else the highest) or of the one asked for.
pub async fn project(
    state: &AppState,
    index: &Index,
    project: &str,
    version: Option<&str>,
) -> CoreResult<Response> {
    let normal = depot_python::names::normalize(project);
    let packages = match &index.repository_id {
        Some(repo) => store::in_version(&state.db, repo, index.number, Some(&normal)).await?,
        None => Vec::new(),
    };
    if packages.is_empty() {
        return Ok(not_found(&normal));
    }
    let chosen = match version {
        Some(v) => {
            let wanted = Version::from_str(v)
                .map_err(|_| CoreError::NotFound(format!("{normal} {v} does not exist.")))?;
            packages
                .iter()
                .find(|p| version_of(p).as_ref() == Some(&wanted))
                .map(|p| p.version.clone())
                .ok_or_else(|| CoreError::NotFound(format!("{normal} {v} does not exist.")))?
        }
        None => {
            let finals = packages
                .iter()
                .filter(|p| version_of(p).is_some_and(|v| !v.any_prerelease()))
                .max_by_key(|p| version_of(p));
            finals
                .or_else(|| packages.iter().max_by_key(|p| version_of(p)))
                .map(|p| p.version.clone())
                .unwrap_or_default()
        }
    };
    let mut releases: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for p in &packages {
        releases
            .entry(p.version.clone())
            .or_default()
            .push(file_json(state, index, p));
    }
    let urls: Vec<Value> = packages
        .iter()
        .filter(|p| p.version == chosen)
        .map(|p| file_json(state, index, p))
        .collect();
    let mut info = packages
        .iter()
        .find(|p| p.version == chosen)
        .and_then(|p| p.metadata.as_object().cloned())
        .unwrap_or_default();
    let base = format!(
        "{}{}{}",
        state.settings.content_origin,
        depot_core::domain::pypi_root(),
        index.base_path
    );
    info.insert("yanked".into(), json!(false));
    info.insert("yanked_reason".into(), Value::Null);
    info.insert(
        "package_url".into(),
        json!(format!("{base}/project/{normal}/")),
    );
    info.insert(
        "release_url".into(),
        json!(format!("{base}/project/{normal}/{chosen}/")),
    );
    let mut body = json!({"info": info, "last_serial": 0, "urls": urls});
    if version.is_none() {
        body["releases"] = json!(releases);
    }
    Ok(Json(body).into_response())
}

//! What the content endpoints of the plugins share: labels as sent, the content-create task
//! from a file, an upload, an artifact or a URL, and the repository version filters.

use axum::response::Response;
use depot_core::access::{Object, defaults};
use depot_core::artifacts::{Expected, ingest_staged};
use depot_core::hrefs::{Kind, parse_version_href};
use depot_core::models::list::{Bind, Filter, InVersion, ListQuery, Table};
use depot_core::models::{Labels, artifact, repository, upload, version};
use depot_core::tasks::args::ContentCreate;
use depot_core::tasks::{Dispatch, TaskArgs};
use depot_core::{CoreError, CoreResult};
use serde_json::Value;

use crate::{ApiResult, AppState, Caller, QueryMap, dispatched};

/// The policy check of listing content of `kind`, and the list narrowed to what the caller
/// may see.
pub async fn listing(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    q: &mut ListQuery,
) -> ApiResult<()> {
    let viewset = defaults::viewset(kind);
    caller.may_in(state, viewset, "list", vec![]).await?;
    if let Some(scope) = caller.content_scope(state, kind).await? {
        q.with(scope)?;
    }
    Ok(())
}

/// Content `id` of `kind` (rows of `table`) is there for the caller to read: not found
/// unless they may see it, forbidden unless the policy lets them read it.
pub async fn reading(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    table: &'static Table,
    id: &str,
) -> ApiResult<()> {
    if let Some(scope) = caller.content_scope(state, kind).await? {
        let mut q = ListQuery::of(table);
        q.with(Filter::Is("id", Bind::Text(id.to_string())))?;
        q.with(scope)?;
        if q.count(&state.db).await? == 0 {
            return Err(CoreError::not_found("Content").into());
        }
    }
    let viewset = defaults::viewset(kind);
    caller.may_in(state, viewset, "retrieve", vec![]).await
}

/// What a content create asks of the policy: the objects the body names, and whether it sets
/// labels. Read before any `await` (a multipart body is not shared between threads).
pub fn create_request(fields: &crate::Fields) -> (Vec<(&'static str, Object)>, bool) {
    let labeled = match fields.value("pulp_labels") {
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::String(s)) => !matches!(s.trim(), "" | "{}" | "null"),
        _ => false,
    };
    (crate::access::params(fields), labeled)
}

/// The policy check of creating content of `kind` (`request` from [`create_request`]). Labels
/// on content added to a repository take `core.manage_content_labels` too (Pulp's 400 says so).
pub async fn creating(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    (params, labeled): (Vec<(&'static str, Object)>, bool),
) -> ApiResult<()> {
    let into_repository = params.iter().any(|(name, _)| *name == "repository");
    if labeled && into_repository && !caller.grants.model_wide("core.manage_content_labels") {
        return Err(CoreError::invalid(
            "pulp_labels cannot be specified by users who do not have the \
             core.manage_content_labels permission.",
        )
        .into());
    }
    let viewset = defaults::viewset(kind);
    caller.may_in(state, viewset, "create", params).await
}

/// Labels as sent, checked; none when absent.
pub fn labels(l: Option<Labels>) -> CoreResult<Labels> {
    match l {
        Some(l) => depot_core::labels::validate(&Value::Object(l)),
        None => Ok(Labels::new()),
    }
}

/// Content to make (as a task) from exactly one of a file, an upload, an artifact or a URL.
pub struct CreateRequest {
    pub repository_kind: Kind,
    pub relative_path: String,
    pub upload: Option<String>,
    pub artifact: Option<String>,
    pub file_url: Option<String>,
    pub repository: Option<String>,
    pub overwrite: bool,
    pub pulp_labels: Labels,
    /// Connection settings for `file_url` (Pulp's `downloader_config`).
    pub downloader_config: Option<serde_json::Map<String, Value>>,
}

/// Checks where the bytes come from and dispatches the plugin's content-create task `A`.
pub async fn dispatch_create<A: TaskArgs>(
    state: &AppState,
    (user_id, cid): (&str, &str),
    file: Option<crate::body::FilePart>,
    body: CreateRequest,
    task: fn(ContentCreate) -> A,
) -> ApiResult<Response> {
    let sources = file.is_some() as u8
        + body.upload.is_some() as u8
        + body.artifact.is_some() as u8
        + body.file_url.is_some() as u8;
    if sources != 1 {
        return Err(CoreError::invalid(
            "Exactly one of 'file', 'upload', 'artifact' or 'file_url' must be given.",
        )
        .into());
    }
    if let Some(url) = &body.file_url {
        depot_core::models::remote::validate_url(url)
            .map_err(|_| CoreError::field("file_url", "Enter a valid URL."))?;
        depot_core::models::remote::check_local_url(
            "file_url",
            url,
            &state.settings.allowed_import_paths,
        )?;
    }
    let downloader_config = match (&body.downloader_config, &body.file_url) {
        (Some(config), Some(_)) => Some(depot_core::models::remote::sealed_download_settings(
            &state.db, config,
        )?),
        (Some(_), None) => {
            return Err(CoreError::field(
                "downloader_config",
                "It configures the download of 'file_url', which was not given.",
            )
            .into());
        }
        (None, _) => None,
    };
    let repo = match body.repository.as_deref() {
        Some(h) => {
            let id = depot_core::hrefs::resolve(body.repository_kind, "repository", h)?;
            Some(
                repository::get(&state.db, &id)
                    .await
                    .map_err(|_| depot_core::hrefs::missing("repository", h))?,
            )
        }
        None => None,
    };
    let (artifact_id, upload_id) = if let Some(f) = file {
        let a = ingest_staged(state, f.staged, f.digests, &Expected::default()).await?;
        (Some(a.id), None)
    } else if let Some(h) = &body.upload {
        let id = depot_core::hrefs::resolve(&depot_core::hrefs::UPLOAD, "upload", h)?;
        upload::get(&state.db, &id)
            .await
            .map_err(|_| depot_core::hrefs::missing("upload", h))?;
        (None, Some(id))
    } else if body.file_url.is_some() {
        (None, None)
    } else {
        let h = body.artifact.as_deref().unwrap_or_default();
        let id = depot_core::hrefs::resolve(&depot_core::hrefs::ARTIFACT, "artifact", h)?;
        artifact::get(&state.db, &id)
            .await
            .map_err(|_| depot_core::hrefs::missing("artifact", h))?;
        (Some(id), None)
    };
    let held = repo.as_ref().map(|r| r.prn()).into_iter().chain(
        upload_id
            .as_deref()
            .map(|u| depot_core::hrefs::UPLOAD.prn(u)),
    );
    let args = task(ContentCreate {
        relative_path: body.relative_path,
        artifact_id,
        upload_id,
        file_url: body.file_url,
        repository_id: repo.as_ref().map(|r| r.id.clone()),
        pulp_labels: body.pulp_labels,
        overwrite: body.overwrite,
        downloader_config,
    });
    let d = Dispatch::new("pulpcore.app.tasks.base.general_create", &args)
        .exclusive(held.collect::<Vec<_>>())
        .immediate()
        .requested_by(user_id, cid);
    dispatched(state, d).await
}

/// Resolves a version href filter into (repository id, number), or a 400.
fn version_filter(param: &str, href: &str) -> ApiResult<(String, i64)> {
    parse_version_href(href).ok_or_else(|| {
        CoreError::field(param, format!("Invalid repository version href: {href}")).into()
    })
}

/// The filters [`repository_version_filters`] applies, for the content lists' OpenAPI documents.
pub const VERSION_FILTERS: [&str; 6] = [
    "repository_version",
    "repository_version_added",
    "repository_version_removed",
    "added_between",
    "removed_between",
    "orphaned_for",
];

/// Adds the filters every content list takes on content (the list's `id` field): by
/// repository version (in it, added or removed by it, added or removed between two), and
/// `orphaned_for`.
pub async fn repository_version_filters(
    state: &AppState,
    q: &mut ListQuery,
    query: &QueryMap,
) -> ApiResult<()> {
    if let Some(h) = query.get("repository_version") {
        // A version's href or PRN, or a repository's (its latest version), as Pulp takes it.
        let v = version::resolve(&state.db, "repository_version", h, true).await?;
        q.with(Filter::Version(
            "id",
            InVersion::Present,
            v.repository_id,
            v.number,
        ))?;
    }
    for (param, how) in [
        ("repository_version_added", InVersion::Added),
        ("repository_version_removed", InVersion::Removed),
    ] {
        if let Some(h) = query.get(param) {
            let v = version::resolve(&state.db, param, h, false).await?;
            q.with(Filter::Version("id", how, v.repository_id, v.number))?;
        }
    }
    let protection = state.settings.orphan_protection_time;
    crate::list::orphaned_for(q, query, protection, Filter::OrphanContent("id"))?;
    // `added_between=a,b`: in version b and not in a; `removed_between=a,b`: the reverse.
    for (param, added) in [("added_between", true), ("removed_between", false)] {
        if query.get(param).is_none() {
            continue;
        }
        let hrefs = query.list(param);
        let [a, b] = &hrefs[..] else {
            return Err(
                CoreError::field(param, "Exactly two repository versions are needed.").into(),
            );
        };
        let (a, b) = (version_filter(param, a)?, version_filter(param, b)?);
        let (present, absent) = if added { (b, a) } else { (a, b) };
        let in_version =
            |(repo, n): (String, i64)| Filter::Version("id", InVersion::Present, repo, n);
        q.with(Filter::AllOf(vec![
            in_version(present),
            Filter::Not(Box::new(in_version(absent))),
        ]))?;
    }
    Ok(())
}

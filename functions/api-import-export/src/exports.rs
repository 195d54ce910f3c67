//! `<exporter>/exports/`: an exporter's exports. Creating one checks the request as Pulp does
//! and dispatches the export task (holding the exporter, sharing its repositories); reading,
//! listing and deleting the records answer at once (deleting leaves the files, as in Pulp).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::hrefs::{self, FS_EXPORTER, PULP_EXPORTER};
use depot_core::models::exporter::{self, Export, Exporter, parse_chunk_size};
use depot_core::models::list::{Bind, Filter, ListQuery};
use depot_core::models::{publication, version};
use depot_core::plugin::Family;
use depot_core::tasks::Dispatch;
use depot_core::tasks::args::{FilesystemExport, PulpExport};
use depot_core::{CoreError, CoreResult};
use depot_http::list::fetch_page;
use depot_http::{
    ApiResult, AppState, Caller, CorrelationId, Fields, ListParams, QueryMap, dispatched,
    no_content, ok,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::exporters::{ExporterType, Filesystem, Pulp};

/// The largest chunk Pulp allows: 1 TB.
const MAX_CHUNK: u64 = 1 << 40;

/// What a Pulp export is asked to do.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PulpExportBody {
    /// Do a Full (true) or Incremental (false) export.
    pub full: Option<bool>,
    /// Generate report on what would be exported and disk-space required.
    pub dry_run: Option<bool>,
    /// List of explicit repo-version hrefs to export (replaces current_version).
    pub versions: Option<Vec<String>>,
    /// Chunk export-tarfile into pieces of chunk_size bytes. Recognizes units of B/KB/MB/GB/TB.
    pub chunk_size: Option<String>,
    /// List of explicit last-exported-repo-version hrefs (replaces last_export).
    pub start_versions: Option<Vec<String>>,
    /// Dictionary of meta information about the export. Stored in the TOC JSON.
    pub meta: Option<Map<String, Value>>,
}

/// What a filesystem export is asked to export.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FilesystemExportBody {
    /// A URI of the publication to be exported.
    pub publication: Option<String>,
    /// A URI of the repository version export.
    pub repository_version: Option<String>,
    /// The URI of the last-exported-repo-version.
    pub start_repository_version: Option<String>,
}

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for base in [Pulp::BASE, Filesystem::BASE] {
        r = r
            .route(&format!("{base}{{id}}/exports/"), get(list).post(create))
            .route(
                &format!("{base}{{id}}/exports/{{export_id}}/"),
                get(read).delete(delete),
            );
    }
    r
}

/// The exporter the path names, which the caller may act on with `action`.
async fn exporter_of(
    state: &AppState,
    caller: &Caller,
    uri: &axum::http::Uri,
    id: &str,
    action: &str,
) -> ApiResult<Exporter> {
    let (kind, base) = match uri.path().contains("/exporters/core/filesystem/") {
        true => (&FS_EXPORTER, Filesystem::BASE),
        false => (&PULP_EXPORTER, Pulp::BASE),
    };
    let e = exporter::get_of_type(&state.db, id, kind).await?;
    caller.may(state, base, (kind, id), action, vec![]).await?;
    Ok(e)
}

fn show(e: &Exporter, x: &Export) -> CoreResult<Value> {
    Ok(match e.kind == &FS_EXPORTER {
        true => serde_json::to_value(x.filesystem_response(e))?,
        false => serde_json::to_value(x.pulp_response(e))?,
    })
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let e = exporter_of(&state, &caller, &uri, &id, "retrieve").await?;
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&exporter::EXPORTS);
    q.with(Filter::Is("exporter_id", Bind::Text(e.id.clone())))?;
    params.order(&mut q, &["pulp_created", "pk"], &[("pulp_created", false)])?;
    let (count, rows) = fetch_page(&state, &q, &params, &query, None).await?;
    let results = rows
        .iter()
        .map(|r| show(&e, &Export::from_row(r)?))
        .collect::<CoreResult<Vec<_>>>()?;
    Ok(ok(&params.page(&query, count, results)))
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
    Path((id, export_id)): Path<(String, String)>,
    query: QueryMap,
) -> ApiResult<Response> {
    let e = exporter_of(&state, &caller, &uri, &id, "retrieve").await?;
    let x = exporter::get_export(&state.db, &e.id, &export_id).await?;
    depot_http::shaped(&query, &show(&e, &x)?)
}

async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
    Path((id, export_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let e = exporter_of(&state, &caller, &uri, &id, "destroy").await?;
    let x = exporter::get_export(&state.db, &e.id, &export_id).await?;
    exporter::delete_export(&state.db, &x.id).await?;
    Ok(no_content())
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    uri: axum::http::Uri,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let e = exporter_of(&state, &caller, &uri, &id, "create").await?;
    // The exporter's path must still be allowed, and a folder if it exists.
    let dir =
        depot_core::importexport::check_export_path(&e.path, &state.settings.allowed_export_paths)?;
    if dir.exists() && !dir.is_dir() {
        return Err(CoreError::field(
            "path",
            format!("Path '{}' must be a directory path", e.path),
        )
        .into());
    }
    let d = match e.kind == &FS_EXPORTER {
        true => filesystem_export(&state, &e, fields).await?,
        false => pulp_export(&state, &e, fields).await?,
    };
    dispatched(&state, d.requested_by(&caller.user.id, &cid.0)).await
}

async fn pulp_export(state: &AppState, e: &Exporter, fields: Fields) -> ApiResult<Dispatch> {
    let (body, params) = fields.parse_full::<PulpExportBody>()?;
    // Pulp declares it and never reports anything: saying so beats exporting anyway.
    if body.dry_run == Some(true) {
        return Err(CoreError::field(
            "dry_run",
            "Dry runs are not supported: nothing was exported.",
        )
        .into());
    }
    let repos = exporter::repositories_of(&state.db, &e.id).await?;
    let mut errors = Map::new();
    let versions = match &body.versions {
        Some(list) => match versions_of(state, "versions", list, &repos).await {
            Ok(v) => Some(v),
            Err(m) => {
                errors.insert("versions".into(), json!([m]));
                None
            }
        },
        None => None,
    };
    let start_versions = match &body.start_versions {
        Some(list) if !list.is_empty() => {
            match versions_of(state, "start_versions", list, &repos).await {
                Ok(v) => Some(v),
                Err(m) => {
                    errors.insert("start_versions".into(), json!([m]));
                    None
                }
            }
        }
        _ => None,
    };
    let chunk_size = match &body.chunk_size {
        Some(text) => match parse_chunk_size(text) {
            None => {
                let m = format!("chunk_size '{text}' is not valid (valid units are B/KB/MB/GB/TB)");
                errors.insert("chunk_size".into(), json!([m]));
                None
            }
            Some(0) => {
                errors.insert(
                    "chunk_size".into(),
                    json!(["Chunk size 0 is not greater than zero!"]),
                );
                None
            }
            Some(n) if n > MAX_CHUNK => {
                let m =
                    format!("Chunk size in bytes {n} is greater than max-chunk-size {MAX_CHUNK}!");
                errors.insert("chunk_size".into(), json!([m]));
                None
            }
            Some(n) => Some(n),
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(CoreError::Invalid(Value::Object(errors)).into());
    }
    let full = body.full.unwrap_or(true);
    if start_versions.is_some() && full {
        return Err(CoreError::invalid(
            "start_versions is only valid for incremental exports (full=False)",
        )
        .into());
    }
    if !full && start_versions.is_none() && e.last_export_id.is_none() {
        return Err(CoreError::invalid(
            "Incremental export can only be requested when there is a previous export or start_versions= has been specified.",
        )
        .into());
    }
    let args = PulpExport {
        exporter_id: e.id.clone(),
        params,
        versions,
        start_versions,
        chunk_size,
        full,
        meta: body.meta.unwrap_or_default(),
    };
    let mut shared = Vec::new();
    for r in &repos {
        let repo = depot_core::models::repository::get(&state.db, r).await?;
        shared.push(repo.kind().prn(r));
    }
    Ok(
        Dispatch::new("pulpcore.app.tasks.export.pulp_export", &args)
            .exclusive([PULP_EXPORTER.prn(&e.id)])
            .shared(shared),
    )
}

/// The ids of the versions `hrefs` names: one per repository of the exporter, each of one of
/// them (Pulp's two checks and messages).
async fn versions_of(
    state: &AppState,
    field: &str,
    hrefs_sent: &[String],
    repos: &[String],
) -> Result<Vec<String>, String> {
    if hrefs_sent.len() != repos.len() {
        return Err(format!(
            "Number of versions ({}) does not match the number of Repositories ({}) for the owning  Exporter!",
            repos.len(),
            hrefs_sent.len()
        ));
    }
    let mut ids = Vec::new();
    let mut of_repos = std::collections::BTreeSet::new();
    let not_theirs =
        || "Requested RepositoryVersions must belong to the Repositories named by the Exporter!";
    for h in hrefs_sent {
        // Another domain's version is none of the exporter's (never looked up: whether it
        // exists there stays unknown).
        if hrefs::in_other_domain(h) {
            return Err(not_theirs().into());
        }
        let v = match hrefs::resolve_version(field, h) {
            Ok((repo, number)) => version::get(&state.db, &repo, number).await.ok(),
            Err(_) => None,
        };
        let Some(v) = v else {
            return Err(format!("Invalid hyperlink - Object does not exist. ({h})"));
        };
        of_repos.insert(v.repository_id.clone());
        ids.push(v.id);
    }
    let wanted: std::collections::BTreeSet<String> = repos.iter().cloned().collect();
    if of_repos != wanted {
        return Err(not_theirs().into());
    }
    Ok(ids)
}

async fn filesystem_export(state: &AppState, e: &Exporter, fields: Fields) -> ApiResult<Dispatch> {
    let (body, params) = fields.parse_full::<FilesystemExportBody>()?;
    let version_id = |field: &'static str, h: &str| {
        let h = h.to_string();
        async move {
            let (repo, number) = hrefs::resolve_version(field, &h)?;
            version::get(&state.db, &repo, number)
                .await
                .map(|v| v.id)
                .map_err(|_| hrefs::missing(field, &h))
        }
    };
    let (publication_id, version, name) = match (&body.publication, &body.repository_version) {
        (Some(p), None) => {
            let (_, id) = hrefs::resolve_family(Family::Publication, "publication", p)?;
            publication::get(&state.db, &id)
                .await
                .map_err(|_| hrefs::missing("publication", p))?;
            (
                Some(id),
                None,
                "pulpcore.app.tasks.export.fs_publication_export",
            )
        }
        (None, Some(v)) => {
            let id = version_id("repository_version", v).await?;
            (
                None,
                Some(id),
                "pulpcore.app.tasks.export.fs_repo_version_export",
            )
        }
        _ => {
            return Err(CoreError::invalid(
                "publication or repository_version must either be supplied but not both.",
            )
            .into());
        }
    };
    let start_version_id = match &body.start_repository_version {
        Some(h) => Some(version_id("start_repository_version", h).await?),
        None => None,
    };
    let args = FilesystemExport {
        exporter_id: e.id.clone(),
        params,
        publication_id,
        version_id: version,
        start_version_id,
    };
    Ok(Dispatch::new(name, &args).exclusive([FS_EXPORTER.prn(&e.id)]))
}

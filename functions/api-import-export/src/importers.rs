//! `importers/core/pulp/` (answering at once, as Pulp's), its `imports/` (creating one
//! dispatches the import in a new task group) and `import-check/`. Only administrators.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use depot_core::hrefs::{PULP_IMPORTER, TASK_GROUP};
use depot_core::importexport::is_allowed;
use depot_core::models::importer::{self, Import, Importer};
use depot_core::models::list::{Bind, Filter, ListQuery};
use depot_core::models::{TaskGroupOperationResponse, task};
use depot_core::tasks::Dispatch;
use depot_core::tasks::args::PulpImport;
use depot_core::{CoreError, CoreResult};
use depot_http::list::{fetch_page, href_filters, name_filters, page_response};
use depot_http::{
    ApiResult, AppState, Caller, CorrelationId, Fields, ListParams, QueryMap, created, no_content,
    ok,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const BASE: &str = "/pulp/api/v3/importers/core/pulp/";
pub const CHECK: &str = "/pulp/api/v3/importers/core/pulp/import-check/";

/// A Pulp importer's fields.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PulpImporterBody {
    /// Unique name of the Importer.
    pub name: String,
    /// Mapping of repo names in an export file to the repo names in Pulp.
    #[serde(default)]
    pub repo_mapping: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PatchedPulpImporterBody {
    pub name: Option<String>,
    pub repo_mapping: Option<BTreeMap<String, String>>,
}

/// What an import reads.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PulpImportBody {
    /// Path to export that will be imported.
    pub path: Option<String>,
    /// Path to a table-of-contents file describing chunks to be validated, reassembled, and
    /// imported.
    pub toc: Option<String>,
    /// If True, missing repositories will be automatically created during the import.
    pub create_repositories: Option<bool>,
}

/// What import-check is asked about.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PulpImportCheckBody {
    pub path: Option<String>,
    pub toc: Option<String>,
    pub repo_mapping: Option<String>,
}

/// One answer of import-check.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Evaluation {
    /// Parameter value being evaluated.
    pub context: String,
    /// True if evaluation passed, false otherwise.
    pub is_valid: bool,
    /// Messages describing results of all evaluations done. May be an empty list.
    pub messages: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PulpImportCheckResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toc: Option<Evaluation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Evaluation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo_mapping: Option<Evaluation>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(CHECK, post(check))
        .route(
            &format!("{BASE}{{id}}/"),
            get(read).patch(partial_update).put(update).delete(delete),
        )
        .route(
            &format!("{BASE}{{id}}/imports/"),
            get(list_imports).post(create_import),
        )
        .route(
            &format!("{BASE}{{id}}/imports/{{import_id}}/"),
            get(read_import).delete(delete_import),
        )
}

/// The importer `id`, which the caller may act on with `action`.
async fn importer_of(
    state: &AppState,
    caller: &Caller,
    id: &str,
    action: &str,
) -> ApiResult<Importer> {
    let i = importer::get(&state.db, id).await?;
    caller
        .may(state, BASE, (&PULP_IMPORTER, id), action, vec![])
        .await?;
    Ok(i)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    caller.may_in(&state, BASE, "list", vec![]).await?;
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&importer::TABLE);
    name_filters(&mut q, &query, "name")?;
    href_filters(&mut q, &query, &PULP_IMPORTER)?;
    let orderings = ["name", "pulp_created", "pulp_last_updated", "pk"];
    params.order(&mut q, &orderings, &[("pulp_created", false)])?;
    let (count, rows) = fetch_page(&state, &q, &params, &query, None).await?;
    let mut results = Vec::with_capacity(rows.len());
    for r in &rows {
        results.push(serde_json::to_value(
            Importer::from_row(r)?.response(&state.db).await?,
        )?);
    }
    Ok(ok(&params.page(&query, count, results)))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    fields: Fields,
) -> ApiResult<Response> {
    caller.may_in(&state, BASE, "create", vec![]).await?;
    let body = fields.parse::<PulpImporterBody>()?;
    let name = CoreError::check_name(&body.name)?;
    let mapping =
        importer::resolve_mapping(&state.db, &body.repo_mapping.unwrap_or_default()).await?;
    let i = importer::create(&state.db, name, &mapping).await?;
    caller
        .created(
            &state,
            &depot_core::access::Object::new(&PULP_IMPORTER, &i.id),
        )
        .await?;
    Ok(created(&i.response(&state.db).await?))
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let i = importer_of(&state, &caller, &id, "retrieve").await?;
    depot_http::shaped(&query, &i.response(&state.db).await?)
}

async fn change(
    state: &AppState,
    id: &str,
    name: Option<&str>,
    mapping: Option<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    let name = name.map(CoreError::check_name).transpose()?;
    let mapping = match mapping {
        Some(m) => Some(importer::resolve_mapping(&state.db, &m).await?),
        None => None,
    };
    let i = importer::update(&state.db, id, name, mapping.as_deref()).await?;
    Ok(ok(&i.response(&state.db).await?))
}

async fn partial_update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    importer_of(&state, &caller, &id, "partial_update").await?;
    let (body, _) = fields.parse_patch::<PatchedPulpImporterBody>()?;
    change(&state, &id, body.name.as_deref(), body.repo_mapping).await
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    importer_of(&state, &caller, &id, "update").await?;
    let body = fields.parse::<PulpImporterBody>()?;
    change(
        &state,
        &id,
        Some(&body.name),
        Some(body.repo_mapping.unwrap_or_default()),
    )
    .await
}

async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    importer_of(&state, &caller, &id, "destroy").await?;
    importer::delete(&state.db, &id).await?;
    Ok(no_content())
}

async fn list_imports(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let i = importer_of(&state, &caller, &id, "retrieve").await?;
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&importer::IMPORTS);
    q.with(Filter::Is("importer_id", Bind::Text(i.id.clone())))?;
    params.order(&mut q, &["pulp_created", "pk"], &[("pulp_created", false)])?;
    page_response(&state, &q, &params, &query, None, |r| {
        Ok(Import::from_row(r)?.response(&i))
    })
    .await
}

async fn read_import(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, import_id)): Path<(String, String)>,
    query: QueryMap,
) -> ApiResult<Response> {
    let i = importer_of(&state, &caller, &id, "retrieve").await?;
    let x = importer::get_import(&state.db, &i.id, &import_id).await?;
    depot_http::shaped(&query, &x.response(&i))
}

async fn delete_import(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, import_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let i = importer_of(&state, &caller, &id, "destroy").await?;
    let x = importer::get_import(&state.db, &i.id, &import_id).await?;
    importer::delete_import(&state.db, &x.id).await?;
    Ok(no_content())
}

/// Pulp's check of an import path: under `PULP_ALLOWED_IMPORT_PATHS`, as a field error.
fn allowed_import(state: &AppState, field: &str, path: &str) -> CoreResult<String> {
    match is_allowed(path, &state.settings.allowed_import_paths) {
        Some(real) => Ok(real.to_string_lossy().into_owned()),
        None => Err(CoreError::field(
            field,
            format!("{field} '{path}' is not an allowed import path"),
        )),
    }
}

async fn create_import(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let i = importer_of(&state, &caller, &id, "create").await?;
    let body = fields.parse::<PulpImportBody>()?;
    let path = body.path.filter(|p| !p.is_empty());
    let toc = body.toc.filter(|p| !p.is_empty());
    let path = path
        .map(|p| allowed_import(&state, "path", &p))
        .transpose()?;
    let toc = toc.map(|p| allowed_import(&state, "toc", &p)).transpose()?;
    let (path, toc) = match (path, toc) {
        (Some(_), Some(_)) => {
            return Err(
                CoreError::invalid("Only one of 'path' and 'toc' may be specified.").into(),
            );
        }
        (None, None) => {
            return Err(CoreError::invalid("One of 'path' or 'toc' must be specified.").into());
        }
        other => other,
    };
    let create_repositories = body.create_repositories.unwrap_or(false);
    if create_repositories && !importer::repo_mapping(&state.db, &i.id).await?.is_empty() {
        return Err(CoreError::invalid(
            "The option 'create_repositories' is not compatible with 'repo_mapping'.",
        )
        .into());
    }
    let shown = toc.clone().or(path.clone()).unwrap_or_default();
    let group = task::create_group(&state.db, &format!("Import of {shown}")).await?;
    let args = PulpImport {
        importer_id: i.id.clone(),
        path,
        toc,
        create_repositories,
    };
    let mut d = Dispatch::new("pulpcore.app.tasks.importer.pulp_import", &args)
        .exclusive([PULP_IMPORTER.prn(&i.id)])
        .requested_by(&caller.user.id, &cid.0);
    d.task_group = Some(group.clone());
    depot_core::tasks::dispatch(&state, d).await?;
    let body = TaskGroupOperationResponse {
        task_group: TASK_GROUP.href(&group),
    };
    Ok(depot_http::json(StatusCode::ACCEPTED, &body))
}

/// The file modes' say on whether the server may read or write (root passes `access(2)` for
/// every file, so the bits are asked too, as the operator set them).
fn permitted(meta: &std::fs::Metadata, bits: u32) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & bits != 0
}

/// Pulp's evaluation of a path for import-check: allowed, its folder readable, it exists,
/// is a readable file, and for a table of contents its folder writable.
fn evaluate(state: &AppState, field: &str, path: &str) -> Evaluation {
    let mut messages = Vec::new();
    let verdict = |valid, messages| Evaluation {
        context: path.to_string(),
        is_valid: valid,
        messages,
    };
    let Some(real) = is_allowed(path, &state.settings.allowed_import_paths) else {
        let real = depot_core::importexport::real_path(path);
        let shown = real.as_deref().unwrap_or(std::path::Path::new(path));
        let parent = shown.parent().unwrap_or(std::path::Path::new("/"));
        return verdict(
            false,
            vec![format!(
                "{} is not an allowed import path",
                parent.display()
            )],
        );
    };
    let dir = real
        .parent()
        .unwrap_or(std::path::Path::new("/"))
        .to_path_buf();
    let dir_meta = match std::fs::metadata(&dir) {
        Ok(m) => m,
        Err(e) => return verdict(false, vec![e.to_string()]),
    };
    let Ok(meta) = std::fs::metadata(&real) else {
        return verdict(
            false,
            vec![format!("file {} does not exist", real.display())],
        );
    };
    let mut valid = true;
    if !meta.is_file() {
        valid = false;
        messages.push(format!("{} is not a file", real.display()));
    }
    if !permitted(&meta, 0o444) {
        valid = false;
        messages.push(format!("{} exists but cannot be read", real.display()));
    }
    if field == "toc" && !permitted(&dir_meta, 0o222) {
        valid = false;
        messages.push(format!(
            "directory {} must allow pulp write-access",
            dir.display()
        ));
    }
    verdict(valid, messages)
}

async fn check(
    State(state): State<AppState>,
    caller: Caller,
    fields: Fields,
) -> ApiResult<Response> {
    caller.may_in(&state, BASE, "create", vec![]).await?;
    let body = fields.parse::<PulpImportCheckBody>()?;
    if body.path.is_none() && body.toc.is_none() && body.repo_mapping.is_none() {
        return Err(CoreError::invalid(
            "One of 'path', 'toc', or 'repo_mapping' must be specified.",
        )
        .into());
    }
    let repo_mapping = body.repo_mapping.map(|m| {
        let valid = serde_json::from_str::<Map<String, Value>>(&m).is_ok();
        Evaluation {
            messages: if valid {
                vec![]
            } else {
                vec!["invalid JSON".into()]
            },
            context: m,
            is_valid: valid,
        }
    });
    let answer = PulpImportCheckResponse {
        toc: body.toc.map(|p| evaluate(&state, "toc", &p)),
        path: body.path.map(|p| evaluate(&state, "path", &p)),
        repo_mapping,
    };
    Ok(ok(&answer))
}

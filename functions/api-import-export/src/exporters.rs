//! `exporters/core/pulp/` and `exporters/core/filesystem/`: create (at once), read, list,
//! update and delete (tasks, as in Pulp). Only administrators, as Pulp's default.

use std::marker::PhantomData;

use axum::response::Response;
use depot_core::hrefs::{self, FS_EXPORTER, Kind, PULP_EXPORTER};
use depot_core::labels::Labeled;
use depot_core::models::exporter::{self, Exporter, ExporterFields, MAX_REPOSITORIES, Method};
use depot_core::models::list::{Bind, Filter, Grantee, ListQuery};
use depot_core::plugin::Family;
use depot_core::tasks::args::ExporterUpdate;
use depot_core::tasks::{Dispatch, TaskContext, TaskFuture};
use depot_core::{CoreError, CoreResult};
use depot_http::crud::Resource;
use depot_http::list::{fetch_page, href_filters, name_filters, scoped};
use depot_http::{
    ApiResult, AppState, Caller, CorrelationId, Fields, ListParams, QueryMap, created, dispatched,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

/// A Pulp exporter's fields.
// The body's schema: its values are checked as sent (`checked_fields`).
#[allow(dead_code)]
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PulpExporterBody {
    /// Unique name of the exporter.
    pub name: String,
    /// File system directory to store exported tar.gzs.
    pub path: String,
    pub repositories: Vec<String>,
    /// Last attempted export for this PulpExporter
    #[serde(default)]
    pub last_export: Option<String>,
}

// The body's schema: its values are checked as sent (`checked_fields`).
#[allow(dead_code)]
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PatchedPulpExporterBody {
    pub name: Option<String>,
    pub path: Option<String>,
    pub repositories: Option<Vec<String>>,
    pub last_export: Option<String>,
}

/// A filesystem exporter's fields.
// The body's schema: its values are checked as sent (`checked_fields`).
#[allow(dead_code)]
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FilesystemExporterBody {
    /// Unique name of the exporter.
    pub name: String,
    /// File system location to export to.
    pub path: String,
    /// Method of exporting
    #[serde(default)]
    pub method: Option<Method>,
}

// The body's schema: its values are checked as sent (`checked_fields`).
#[allow(dead_code)]
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PatchedFilesystemExporterBody {
    pub name: Option<String>,
    pub path: Option<String>,
    pub method: Option<Method>,
}

/// What differs between the two exporter types.
pub trait ExporterType: Send + Sync + 'static {
    const KIND: Kind;
    const BASE: &'static str;
    type Create: serde::de::DeserializeOwned + JsonSchema;
    type Patch: serde::de::DeserializeOwned + JsonSchema;
    /// How it shows.
    fn show(state: &AppState, e: &Exporter) -> impl Future<Output = CoreResult<Value>> + Send;
}

pub struct Pulp;
pub struct Filesystem;

impl ExporterType for Pulp {
    const KIND: Kind = &PULP_EXPORTER;
    const BASE: &'static str = "/pulp/api/v3/exporters/core/pulp/";
    type Create = PulpExporterBody;
    type Patch = PatchedPulpExporterBody;

    async fn show(state: &AppState, e: &Exporter) -> CoreResult<Value> {
        Ok(serde_json::to_value(e.pulp_response(&state.db).await?)?)
    }
}

impl ExporterType for Filesystem {
    const KIND: Kind = &FS_EXPORTER;
    const BASE: &'static str = "/pulp/api/v3/exporters/core/filesystem/";
    type Create = FilesystemExporterBody;
    type Patch = PatchedFilesystemExporterBody;

    async fn show(_: &AppState, e: &Exporter) -> CoreResult<Value> {
        Ok(serde_json::to_value(e.filesystem_response())?)
    }
}

/// The exporters of type `T`, for the generic handlers.
pub struct Exporters<T>(PhantomData<fn() -> T>);

impl<T: ExporterType> Resource for Exporters<T> {
    const BASE: &'static str = T::BASE;
    const KIND: Kind = T::KIND;
    const LABELED: Option<Labeled> = None;
    type Model = Exporter;
    type Response = Value;
    type Create = T::Create;
    type Patch = T::Patch;

    async fn find(state: &AppState, id: &str) -> ApiResult<Exporter> {
        Ok(exporter::get_of_type(&state.db, id, T::KIND).await?)
    }

    async fn show(state: &AppState, e: &Exporter) -> ApiResult<Value> {
        Ok(T::show(state, e).await?)
    }

    async fn list(state: AppState, query: QueryMap, scope: Option<Grantee>) -> ApiResult<Response> {
        let params = ListParams::from_query(&query)?;
        let mut q = ListQuery::of(&exporter::TABLE);
        q.with(Filter::Is(
            "kind",
            Bind::Text(exporter::kind_name(T::KIND).into()),
        ))?;
        scoped(&mut q, scope)?;
        name_filters(&mut q, &query, "name")?;
        href_filters(&mut q, &query, T::KIND)?;
        let orderings = ["name", "pulp_created", "pulp_last_updated", "pk"];
        params.order(&mut q, &orderings, &[("pulp_created", false)])?;
        let (count, rows) = fetch_page(&state, &q, &params, &query, None).await?;
        let mut results = Vec::with_capacity(rows.len());
        // A Pulp exporter's repositories are one more query each; a page is bounded.
        for r in &rows {
            results.push(T::show(&state, &Exporter::from_row(r)?).await?);
        }
        Ok(depot_http::ok(&params.page(&query, count, results)))
    }

    async fn create(
        state: AppState,
        caller: Caller,
        _: CorrelationId,
        fields: Fields,
    ) -> ApiResult<Response> {
        let (_, values) = fields.parse_full::<T::Create>()?;
        let f = checked_fields::<T>(&state, None, &values).await?;
        let e = exporter::create(&state.db, T::KIND, &f).await?;
        caller
            .created(&state, &depot_core::access::Object::new(T::KIND, &e.id))
            .await?;
        Ok(created(&T::show(&state, &e).await?))
    }

    async fn update(
        state: AppState,
        caller: Caller,
        cid: CorrelationId,
        id: String,
        changes: Map<String, Value>,
    ) -> ApiResult<Response> {
        let fields = checked_fields::<T>(&state, Some(&id), &changes).await?;
        let args = ExporterUpdate {
            id: id.clone(),
            fields,
        };
        let d = Dispatch::new("pulpcore.app.tasks.base.general_update", &args)
            .exclusive(vec![T::KIND.prn(&id)])
            .immediate()
            .requested_by(&caller.user.id, &cid.0);
        dispatched(&state, d).await
    }
}

/// The fields a create or an update sent, checked as Pulp checks them.
async fn checked_fields<T: ExporterType>(
    state: &AppState,
    id: Option<&str>,
    values: &Map<String, Value>,
) -> CoreResult<ExporterFields> {
    let text = |f: &str| values.get(f).and_then(Value::as_str);
    let mut out = ExporterFields::default();
    if let Some(name) = text("name") {
        out.name = Some(CoreError::check_name(name)?.to_string());
    }
    if let Some(path) = text("path") {
        depot_core::importexport::check_export_path(path, &state.settings.allowed_export_paths)?;
        out.path = Some(path.to_string());
    }
    if let Some(m) = values.get("method") {
        let m: Method = serde_json::from_value(m.clone()).map_err(|_| {
            CoreError::field(
                "method",
                format!(
                    "\"{}\" is not a valid choice.",
                    m.as_str().unwrap_or_default()
                ),
            )
        })?;
        out.method = Some(m);
    } else if id.is_none() && T::KIND == &FS_EXPORTER {
        out.method = Some(Method::Write);
    }
    if let Some(Value::Array(repos)) = values.get("repositories") {
        if repos.len() > MAX_REPOSITORIES {
            return Err(CoreError::field(
                "repositories",
                format!("Ensure this field has no more than {MAX_REPOSITORIES} elements."),
            ));
        }
        let mut ids = Vec::with_capacity(repos.len());
        for r in repos {
            let reference = r.as_str().unwrap_or_default();
            let (kind, rid) = hrefs::resolve_family(Family::Repository, "repositories", reference)?;
            depot_core::models::repository::get_of_type(&state.db, &rid, kind.pulp_type)
                .await
                .map_err(|_| hrefs::missing("repositories", reference))?;
            ids.push(rid);
        }
        out.repositories = Some(ids);
    }
    match values.get("last_export") {
        Some(Value::Null) => out.last_export_id = Some(None),
        Some(Value::String(href)) => {
            let export_id =
                export_of(id, href).ok_or_else(|| hrefs::unresolved("last_export", href))?;
            out.last_export_id = Some(Some(export_id));
        }
        _ => {}
    }
    Ok(out)
}

/// The export id of `href` when it is an export of exporter `exporter_id`.
fn export_of(exporter_id: Option<&str>, href: &str) -> Option<String> {
    let e = exporter_id?;
    let prefix = PULP_EXPORTER.href(e);
    let id = href
        .strip_prefix(&prefix)?
        .strip_prefix("exports/")?
        .strip_suffix('/')?;
    uuid::Uuid::parse_str(id).ok().map(|_| id.to_string())
}

/// The `exporter.update` task: applies a checked update.
pub fn run_update(ctx: TaskContext, args: ExporterUpdate) -> TaskFuture {
    Box::pin(async move {
        exporter::update(&ctx.core.db, &args.id, &args.fields).await?;
        Ok(None)
    })
}

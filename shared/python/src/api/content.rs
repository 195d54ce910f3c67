//! `content/python/packages/`: the python packages (made by uploads and syncs), with the core
//! metadata read from each file.

use crate::store::{self, Package};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::CoreError;
use depot_core::models::Labels;
use depot_core::models::list::{Bind, Filter, ListQuery, Match};
use depot_http::body::FileField;
use depot_http::list::{href_filters, name_filters, page_response};
use depot_http::openapi::{self, ApiDoc, Op};
use depot_http::plugin_api::content::{
    VERSION_FILTERS, create_request, creating, listing, reading,
};
use depot_http::{
    ApiResult, AppState, Caller, CorrelationId, Fields, ListParams, QueryMap, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::Serialize;
use serde_json::{Map, Value};

const BASE: &str = "/pulp/api/v3/content/python/packages/";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}{{id}}/"), get(read))
}

/// A python package to make from exactly one of a file, an upload, an artifact or a URL; its
/// metadata is read from the file, whose name `relative_path` is.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // `file` is taken apart from the body; the others are only accepted
pub struct PythonPythonPackageContent {
    /// The file name (`name-version-python-abi-platform.whl`, `name-version.tar.gz`).
    pub relative_path: String,
    #[serde(default)]
    pub file: FileField,
    pub upload: Option<String>,
    pub artifact: Option<String>,
    pub file_url: Option<String>,
    /// Connection settings for `file_url`, as a remote has them.
    pub downloader_config: Option<serde_json::Map<String, Value>>,
    /// A repository to add the new package to.
    pub repository: Option<String>,
    pub pulp_labels: Option<Labels>,
    /// Taken for compatibility (PEP 740 attestations are not verified yet).
    pub attestations: Option<Value>,
    /// Deprecated: the artifact's sha256.
    pub sha256: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    mut fields: Fields,
) -> ApiResult<Response> {
    let request = create_request(&fields);
    creating(&state, &caller, &crate::plugin::PACKAGE, request).await?;
    let user = &caller.user;
    let file = fields.take_file("file");
    let body: PythonPythonPackageContent = fields.parse()?;
    crate::filename::parse(&body.relative_path)
        .map_err(|e| CoreError::field("relative_path", e.to_string()))?;
    if let Some(claimed) = &body.sha256 {
        let claimed = claimed.to_ascii_lowercase();
        let actual = match (&file, &body.artifact) {
            (Some(f), _) => Some(f.digests.sha256.clone()),
            (None, Some(href)) => {
                let id =
                    depot_core::hrefs::resolve(&depot_core::hrefs::ARTIFACT, "artifact", href)?;
                Some(
                    depot_core::models::artifact::get(&state.db, &id)
                        .await?
                        .digests
                        .sha256,
                )
            }
            // An upload or a URL: its digest is known only once the task has the bytes.
            _ => None,
        };
        if actual.is_some_and(|a| a != claimed) {
            return Err(
                CoreError::field("sha256", "The sha256 does not match the file's sha256.").into(),
            );
        }
    }
    let request = depot_http::plugin_api::content::CreateRequest {
        repository_kind: &crate::plugin::REPOSITORY,
        relative_path: body.relative_path,
        upload: body.upload,
        artifact: body.artifact,
        file_url: body.file_url,
        repository: body.repository,
        overwrite: true,
        pulp_labels: depot_http::plugin_api::content::labels(body.pulp_labels)?,
        downloader_config: body.downloader_config,
    };
    let task = crate::plugin::Create;
    depot_http::plugin_api::content::dispatch_create(
        &state,
        (&user.id, &cid.0),
        file,
        request,
        task,
    )
    .await
}

/// A python package: one distribution file (wheel or sdist) and its core metadata.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PythonPythonPackageContentResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub pulp_labels: Value,
    pub vuln_report: Option<String>,
    pub artifact: Option<String>,
    pub filename: String,
    pub packagetype: String,
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub metadata_sha256: Option<String>,
    pub python_version: String,
    pub requires_python: Option<String>,
    pub size: i64,
    /// The other core metadata fields (summary, requires_dist, classifiers, ...).
    #[serde(flatten)]
    pub metadata: Map<String, Value>,
}

fn response(p: Package) -> PythonPythonPackageContentResponse {
    let mut metadata = p.metadata.as_object().cloned().unwrap_or_default();
    for own in ["name", "version", "requires_python"] {
        metadata.remove(own);
    }
    PythonPythonPackageContentResponse {
        pulp_href: crate::plugin::PACKAGE.href(&p.content_id),
        prn: crate::plugin::PACKAGE.prn(&p.content_id),
        pulp_created: p.created,
        pulp_last_updated: p.updated,
        pulp_labels: p.pulp_labels,
        vuln_report: p
            .vuln_report_id
            .as_deref()
            .map(|id| depot_core::hrefs::VULN_REPORT.href(id)),
        artifact: p
            .artifact_id
            .as_deref()
            .map(|a| depot_core::hrefs::ARTIFACT.href(a)),
        filename: p.filename,
        packagetype: p.packagetype,
        name: p.name,
        version: p.version,
        sha256: p.sha256,
        metadata_sha256: p.metadata_sha256,
        python_version: p.python_version,
        requires_python: p.requires_python,
        size: p.size,
        metadata,
    }
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&store::TABLE);
    listing(&state, &caller, &crate::plugin::PACKAGE, &mut q).await?;
    // Project names match as PEP 503 normalizes them.
    if let Some(n) = query.get("name") {
        let normal = crate::names::normalize(n);
        q.with(Filter::Is("name", Bind::Text(normal)))?;
    }
    if query.get("name__in").is_some() {
        let names = query
            .list("name__in")
            .iter()
            .map(|n| crate::names::normalize(n))
            .collect();
        q.with(Filter::In("name", names))?;
    }
    if let Some(v) = query.get("name__contains") {
        q.with(Filter::Text("display_name", Match::Contains, v.to_string()))?;
    }
    for field in ["filename", "packagetype", "sha256", "version"] {
        name_filters(&mut q, &query, field)?;
    }
    href_filters(&mut q, &query, &crate::plugin::PACKAGE)?;
    depot_http::plugin_api::content::repository_version_filters(&state, &mut q, &query).await?;
    let orderings = ["name", "version", "filename", "pulp_created", "pk"];
    params.order(&mut q, &orderings, &[("pulp_created", true)])?;
    page_response(&state, &q, &params, &query, Some("pulp_labels"), |r| {
        Package::from_row(r).map(response)
    })
    .await
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let package = store::get(&state.db, &id).await?;
    reading(&state, &caller, &crate::plugin::PACKAGE, &store::TABLE, &id).await?;
    shaped(&query, &response(package))
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<PythonPythonPackageContentResponse>();
    let page = doc.paginated::<PythonPythonPackageContentResponse>();
    let tag = "Content: Packages";
    let filters = openapi::list_filters(
        &[
            "name",
            "name__contains",
            "filename",
            "filename__contains",
            "packagetype",
            "sha256",
            "version",
            "pulp_label_select",
        ]
        .iter()
        .chain(&VERSION_FILTERS)
        .copied()
        .collect::<Vec<_>>(),
        &[
            "name__in",
            "packagetype__in",
            "pulp_href__in",
            "prn__in",
            "pulp_id__in",
        ],
    );
    let req = doc.schema::<PythonPythonPackageContent>();
    let async_op = doc.schema::<depot_core::models::AsyncOperationResponse>();
    doc.add(
        Op::new("post", BASE, "content_python_packages_create", tag)
            .body(req, depot_http::openapi::MULTIPART_FORM)
            .response(202, Some(async_op)),
    );
    doc.add(
        Op::new("get", BASE, "content_python_packages_list", tag)
            .params(filters)
            .response(200, Some(page)),
    );
    doc.add(
        Op::new(
            "get",
            "{python_python_package_content_href}",
            "content_python_packages_read",
            tag,
        )
        .param(openapi::href_param("python_python_package_content_href"))
        .params(openapi::field_params())
        .response(200, Some(resp)),
    );
}

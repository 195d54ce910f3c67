//! `artifacts/` and `uploads/`: direct artifact uploads, and chunked uploads that are committed
//! into an artifact by a task; `repair/`, which checks every stored file of the domain.

pub mod uploads;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use depot_core::artifacts::{Expected, ingest_staged};
use depot_core::checksums::{Algorithm, is_hex_digest};
use depot_core::models::artifact::{self, Artifact, ArtifactResponse};
use depot_core::models::list::{Bind, Filter, ListQuery};
use depot_core::{CoreError, CoreResult};
use depot_http::body::FileField;
use depot_http::list::{href_filters, orphaned_for, page_response};
use depot_http::openapi::{self, ApiDoc, MULTIPART_FORM, Op};
use depot_http::repair::{RepairBody, Target};
use depot_http::{
    ApiResult, AppState, Authenticated, Caller, CorrelationId, Detail, Fields, ListParams,
    QueryMap, created, no_content, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;

const BASE: &str = "/pulp/api/v3/artifacts/";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}{{id}}/"), get(read).delete(delete))
        .route(REPAIR, post(repair))
        .merge(uploads::router())
}

const REPAIR: &str = "/pulp/api/v3/repair/";

/// Checks every stored file of the domain and fetches missing or damaged ones again. Pulp has
/// no policy for it: administrators only.
async fn repair(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    fields: Fields,
) -> ApiResult<Response> {
    caller.may_in(&state, REPAIR, "post", vec![]).await?;
    depot_http::repair::dispatch(&state, &caller, &cid, fields, Target::Domain).await
}

/// A file to store as an artifact, with optional expected size and digests.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactUpload {
    #[serde(default)]
    pub file: FileField,
    pub size: Option<i64>,
    pub md5: Option<String>,
    pub sha1: Option<String>,
    pub sha224: Option<String>,
    pub sha256: Option<String>,
    pub sha384: Option<String>,
    pub sha512: Option<String>,
}

/// Validated expected digests from a request (format checked, lowercased).
pub fn expected_digests(
    pairs: &[(Algorithm, Option<&String>)],
) -> CoreResult<Vec<(Algorithm, String)>> {
    let mut out = Vec::new();
    for (alg, v) in pairs {
        if let Some(v) = v {
            let v = v.to_ascii_lowercase();
            if !is_hex_digest(*alg, &v) {
                return Err(CoreError::field(
                    alg.name(),
                    format!("Invalid {} digest.", alg.name()),
                ));
            }
            out.push((*alg, v));
        }
    }
    Ok(out)
}

async fn create(
    State(state): State<AppState>,
    _: Authenticated,
    mut fields: Fields,
) -> ApiResult<Response> {
    let file = fields.take_file("file");
    let body: ArtifactUpload = fields.parse()?;
    let file = file.ok_or_else(|| CoreError::field("file", "No file was submitted."))?;
    let expected = Expected {
        size: match body.size {
            Some(n) if n < 0 => return Err(CoreError::field("size", "Invalid size.").into()),
            Some(n) => Some(n as u64),
            None => None,
        },
        digests: expected_digests(&[
            (Algorithm::Md5, body.md5.as_ref()),
            (Algorithm::Sha1, body.sha1.as_ref()),
            (Algorithm::Sha224, body.sha224.as_ref()),
            (Algorithm::Sha256, body.sha256.as_ref()),
            (Algorithm::Sha384, body.sha384.as_ref()),
            (Algorithm::Sha512, body.sha512.as_ref()),
        ])?,
    };
    if artifact::find_by_sha256(&state.db, &file.digests.sha256)
        .await?
        .is_some()
    {
        return Err(CoreError::field(
            "non_field_errors",
            format!(
                "Artifact with sha256 checksum of '{}' already exists.",
                file.digests.sha256
            ),
        )
        .into());
    }
    let a = ingest_staged(&state, file.staged, file.digests, &expected).await?;
    Ok(created(&a.response()))
}

async fn list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&artifact::TABLE);
    for alg in Algorithm::ALL {
        if let Some(v) = query.get(alg.name()) {
            q.with(Filter::Is(alg.name(), Bind::Text(v.to_ascii_lowercase())))?;
        }
    }
    href_filters(&mut q, &query, &depot_core::hrefs::ARTIFACT)?;
    if let Some(href) = query.get("repository_version") {
        // Pulp's message for a version that does not exist.
        let missing = || {
            CoreError::field(
                "repository_version",
                format!("URI {href} not found for repositoryversion."),
            )
        };
        let (repo, n) = depot_core::hrefs::parse_version_href(href).ok_or_else(missing)?;
        depot_core::models::version::get(&state.db, &repo, n)
            .await
            .map_err(|_| missing())?;
        q.with(Filter::ArtifactInVersion("id", repo, n))?;
    }
    let protection = state.settings.orphan_protection_time;
    orphaned_for(&mut q, &query, protection, Filter::OrphanArtifact("id"))?;
    params.order(
        &mut q,
        &["pulp_created", "size", "pk"],
        &[("pulp_created", true)],
    )?;
    page_response(&state, &q, &params, &query, None, |r| {
        Artifact::from_row(r).map(|a| a.response())
    })
    .await
}

async fn read(State(state): State<AppState>, Detail { id, query }: Detail) -> ApiResult<Response> {
    let a = artifact::get(&state.db, &id).await?;
    shaped(&query, &a.response())
}

/// Deleting an artifact is refused by the default policy (Pulp's: orphan cleanup removes
/// them); a customized policy may allow it for artifacts nothing uses.
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.may_in(&state, BASE, "destroy", vec![]).await?;
    let a = artifact::get(&state.db, &id).await?;
    if !artifact::delete_if_unused(&state.db, &id).await? {
        return Err(CoreError::Conflict(
            "The artifact is in use by content and cannot be deleted.".into(),
        )
        .into());
    }
    state.storage.delete(&a.file).await?;
    Ok(no_content())
}

pub fn openapi(doc: &mut ApiDoc) {
    let repair = doc.schema::<RepairBody>();
    let task = doc.schema::<depot_core::models::AsyncOperationResponse>();
    doc.add(
        Op::new("post", REPAIR, "repair_post", "Repair")
            .summary("Repair Artifact Storage")
            .body(repair, openapi::JSON_FORM_MULTIPART)
            .response(202, Some(task)),
    );
    let resp = doc.schema::<ArtifactResponse>();
    let page = doc.paginated::<ArtifactResponse>();
    let req = doc.schema::<ArtifactUpload>();
    let mut filters = openapi::list_params();
    for alg in Algorithm::ALL {
        filters.push(openapi::query_param(alg.name(), "string", alg.name()));
    }
    for f in ["pulp_href__in", "prn__in", "pulp_id__in"] {
        filters.push(openapi::csv_param(f, f));
    }
    filters.push(openapi::query_param(
        "repository_version",
        "string",
        "artifacts of the content in this repository version",
    ));
    let p = || openapi::href_param("artifact_href");
    doc.add(
        Op::new("get", BASE, "artifacts_list", "Artifacts")
            .params(filters)
            .response(200, Some(page)),
    );
    doc.add(
        Op::new("post", BASE, "artifacts_create", "Artifacts")
            .body(req, MULTIPART_FORM)
            .response(201, Some(resp.clone())),
    );
    doc.add(
        Op::new("get", "{artifact_href}", "artifacts_read", "Artifacts")
            .param(p())
            .params(openapi::field_params())
            .response(200, Some(resp)),
    );
    doc.add(
        Op::new("delete", "{artifact_href}", "artifacts_delete", "Artifacts")
            .param(p())
            .response(204, None),
    );
    uploads::openapi(doc);
}

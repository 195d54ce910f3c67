//! `content/container/{manifests,blobs,tags}/`: read-only lists of container content, as
//! pulp_container serves them. Units are made by pushes and syncs, never through these
//! endpoints.

use crate::content::{self, BlobRow, ManifestRow, TagRow, Unit};
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use depot_core::hrefs::Kind;
use depot_core::models::Labels;
use depot_core::models::list::{Bind, Filter, ListQuery, Row as AnyRow, Table};
use depot_core::{CoreError, CoreResult};
use depot_http::list::{fetch_page, href_filters, name_filters};
use depot_http::openapi::{self, ApiDoc, Op};
use depot_http::plugin_api::content::VERSION_FILTERS;
use depot_http::{ApiResult, AppState, Authenticated, Detail, ListParams, QueryMap, ok, shaped};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value, json};

const MANIFESTS: &str = "/pulp/api/v3/content/container/manifests/";
const BLOBS: &str = "/pulp/api/v3/content/container/blobs/";
const TAGS: &str = "/pulp/api/v3/content/container/tags/";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(MANIFESTS, get(manifests_list))
        .route(&format!("{MANIFESTS}{{id}}/"), get(manifests_read))
        .route(BLOBS, get(blobs_list))
        .route(&format!("{BLOBS}{{id}}/"), get(blobs_read))
        .route(TAGS, get(tags_list))
        .route(&format!("{TAGS}{{id}}/"), get(tags_read))
}

/// The fields every content unit has.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContentBase {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub pulp_labels: Labels,
    pub vuln_report: Option<String>,
}

impl ContentBase {
    fn of(kind: Kind, unit: Unit) -> Self {
        Self {
            pulp_href: kind.href(&unit.id),
            prn: kind.prn(&unit.id),
            pulp_labels: unit.pulp_labels,
            pulp_created: unit.created,
            pulp_last_updated: unit.updated,
            vuln_report: None,
        }
    }
}

/// A container manifest: an image manifest, an index (manifest list) or an OCI artifact.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContainerManifestResponse {
    #[serde(flatten)]
    pub base: ContentBase,
    pub digest: String,
    pub schema_version: i64,
    pub media_type: String,
    /// The manifests an index lists.
    pub listed_manifests: Vec<String>,
    pub config_blob: Option<String>,
    /// The blobs an image manifest references.
    pub blobs: Vec<String>,
    pub annotations: Map<String, Value>,
    pub labels: Map<String, Value>,
    pub is_bootable: bool,
    pub is_flatpak: bool,
    pub architecture: Option<String>,
    pub os: Option<String>,
    /// The sum of the layers' sizes, for image manifests.
    pub compressed_image_size: Option<i64>,
    #[serde(rename = "type")]
    pub manifest_type: Option<String>,
}

/// A container blob: a layer or a config.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContainerBlobResponse {
    #[serde(flatten)]
    pub base: ContentBase,
    /// The artifact holding the bytes; null until an on-demand blob is downloaded.
    pub artifact: Option<String>,
    pub digest: String,
}

/// A container tag: a name for a manifest.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContainerTagResponse {
    #[serde(flatten)]
    pub base: ContentBase,
    pub name: String,
    pub tagged_manifest: String,
}

/// One content type: its href kind, table and orderings.
struct Listed {
    kind: Kind,
    model: &'static str,
    table: &'static Table,
    orderings: &'static [&'static str],
}

const MANIFEST: Listed = Listed {
    kind: &crate::plugin::MANIFEST,
    model: "Manifest",
    table: &content::MANIFESTS,
    orderings: &[
        "digest",
        "media_type",
        "schema_version",
        "pulp_created",
        "pulp_last_updated",
        "pk",
    ],
};

const BLOB: Listed = Listed {
    kind: &crate::plugin::BLOB,
    model: "Blob",
    table: &content::BLOBS,
    orderings: &["digest", "pulp_created", "pulp_last_updated", "pk"],
};

const TAG: Listed = Listed {
    kind: &crate::plugin::TAG,
    model: "Tag",
    table: &content::TAGS,
    orderings: &["name", "pulp_created", "pulp_last_updated", "pk"],
};

impl Listed {
    /// One page of units matching the common content filters plus those `add` sets.
    async fn page(
        &self,
        state: &AppState,
        query: &QueryMap,
        add: impl FnOnce(&mut ListQuery) -> ApiResult<()>,
    ) -> ApiResult<(ListParams, i64, Vec<AnyRow>)> {
        let params = ListParams::from_query(query)?;
        let mut q = ListQuery::of(self.table);
        href_filters(&mut q, query, self.kind)?;
        depot_http::plugin_api::content::repository_version_filters(state, &mut q, query).await?;
        add(&mut q)?;
        let newest_first = [("pulp_created", true), ("pk", true)];
        params.order(&mut q, self.orderings, &newest_first)?;
        let (count, rows) = fetch_page(state, &q, &params, query, Some("pulp_labels")).await?;
        Ok((params, count, rows))
    }

    async fn one(&self, state: &AppState, id: &str) -> ApiResult<AnyRow> {
        let row = content::one(&state.db, self.table, id).await?;
        Ok(row.ok_or_else(|| CoreError::not_found(self.model))?)
    }
}

/// `digest` (exact) and `digest__in`.
fn digest_filters(q: &mut ListQuery, query: &QueryMap) -> ApiResult<()> {
    if let Some(d) = query.get("digest") {
        q.with(Filter::Is("digest", Bind::Text(d.to_string())))?;
    }
    if query.get("digest__in").is_some() {
        q.with(Filter::In("digest", query.list("digest__in")))?;
    }
    Ok(())
}

/// A filter taking one value or several (repeated or comma-separated), matching any of them.
fn any_of_filter(q: &mut ListQuery, query: &QueryMap, field: &'static str) -> ApiResult<()> {
    if query.get(field).is_some() {
        q.with(Filter::In(field, query.list(field)))?;
    }
    Ok(())
}

fn page_response(
    params: &ListParams,
    query: &QueryMap,
    count: i64,
    results: Vec<Value>,
) -> Response {
    ok(&params.page(query, count, results))
}

fn values<T: Serialize>(items: Vec<T>) -> Vec<Value> {
    items
        .into_iter()
        .map(|i| serde_json::to_value(i).unwrap_or_default())
        .collect()
}

// Manifests.

async fn manifests_list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let (params, count, rows) = MANIFEST
        .page(&state, &query, |q| {
            digest_filters(q, &query)?;
            any_of_filter(q, &query, "media_type")?;
            // Depot does not read image configs, so no manifest is bootable or a flatpak.
            for flag in ["is_bootable", "is_flatpak"] {
                if query.bool(flag)? == Some(true) {
                    q.with(Filter::Nothing)?;
                }
            }
            Ok(())
        })
        .await?;
    let results = manifests(&state, &rows).await?;
    Ok(page_response(&params, &query, count, values(results)))
}

async fn manifests_read(
    State(state): State<AppState>,
    Detail { id, query }: Detail,
) -> ApiResult<Response> {
    let row = MANIFEST.one(&state, &id).await?;
    let mut m = manifests(&state, std::slice::from_ref(&row)).await?;
    shaped(&query, &m.pop())
}

/// Builds manifest responses, fetching their listed manifests and blobs for all rows at once.
async fn manifests(
    state: &AppState,
    rows: &[AnyRow],
) -> CoreResult<Vec<ContainerManifestResponse>> {
    let rows = rows
        .iter()
        .map(ManifestRow::from_row)
        .collect::<CoreResult<Vec<_>>>()?;
    let ids: Vec<String> = rows.iter().map(|m| m.unit.id.clone()).collect();
    let mut refs = content::references(&state.db, &ids).await?;
    let hrefs = |kind: Kind, ids: Option<Vec<String>>| -> Vec<String> {
        ids.unwrap_or_default()
            .iter()
            .map(|id| kind.href(id))
            .collect()
    };
    let (manifest, blob) = (&crate::plugin::MANIFEST, &crate::plugin::BLOB);
    Ok(rows
        .into_iter()
        .map(|m| {
            let id = m.unit.id.clone();
            ContainerManifestResponse {
                base: ContentBase::of(manifest, m.unit),
                digest: m.digest,
                schema_version: m.schema_version,
                media_type: m.media_type,
                listed_manifests: hrefs(manifest, refs.listed.remove(&id)),
                config_blob: m.config_blob_id.map(|b| blob.href(&b)),
                blobs: hrefs(blob, refs.blobs.remove(&id)),
                annotations: m.annotations,
                labels: Map::new(),
                is_bootable: false,
                is_flatpak: false,
                architecture: m.architecture,
                os: m.os,
                compressed_image_size: layers_size(&m.data),
                manifest_type: None,
            }
        })
        .collect())
}

/// The sum of an image manifest's layer sizes; `None` for indexes and schema 1 manifests.
fn layers_size(data: &str) -> Option<i64> {
    let v: Value = serde_json::from_str(data).ok()?;
    let layers = v.get("layers")?.as_array()?;
    layers
        .iter()
        .map(|l| l.get("size").and_then(Value::as_i64))
        .sum()
}

// Blobs.

fn blob(r: &AnyRow) -> CoreResult<ContainerBlobResponse> {
    let b = BlobRow::from_row(r)?;
    Ok(ContainerBlobResponse {
        base: ContentBase::of(&crate::plugin::BLOB, b.unit),
        artifact: b.artifact_id.map(|a| depot_core::hrefs::ARTIFACT.href(&a)),
        digest: b.digest,
    })
}

async fn blobs_list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let (params, count, rows) = BLOB
        .page(&state, &query, |q| digest_filters(q, &query))
        .await?;
    let results = rows.iter().map(blob).collect::<CoreResult<Vec<_>>>()?;
    Ok(page_response(&params, &query, count, values(results)))
}

async fn blobs_read(
    State(state): State<AppState>,
    Detail { id, query }: Detail,
) -> ApiResult<Response> {
    let row = BLOB.one(&state, &id).await?;
    shaped(&query, &blob(&row)?)
}

// Tags.

fn tag(r: &AnyRow) -> CoreResult<ContainerTagResponse> {
    let t = TagRow::from_row(r)?;
    Ok(ContainerTagResponse {
        base: ContentBase::of(&crate::plugin::TAG, t.unit),
        name: t.name,
        tagged_manifest: crate::plugin::MANIFEST.href(&t.manifest_id),
    })
}

async fn tags_list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let (params, count, rows) = TAG
        .page(&state, &query, |q| {
            name_filters(q, &query, "name")?;
            any_of_filter(q, &query, "digest")?;
            any_of_filter(q, &query, "media_type")?;
            Ok(())
        })
        .await?;
    let results = rows.iter().map(tag).collect::<CoreResult<Vec<_>>>()?;
    Ok(page_response(&params, &query, count, values(results)))
}

async fn tags_read(
    State(state): State<AppState>,
    Detail { id, query }: Detail,
) -> ApiResult<Response> {
    let row = TAG.one(&state, &id).await?;
    shaped(&query, &tag(&row)?)
}

// OpenAPI.

const COMMON_CSV_FILTERS: [&str; 3] = ["pulp_href__in", "prn__in", "pulp_id__in"];

/// A filter taking one value or a list sent as repeated parameters (pulp-cli sends a string
/// from a list command and a list from `find`).
fn any_of_param(name: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": name,
           "schema": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
           "style": "form", "explode": true})
}

/// List and read operations for one content type.
struct Ops {
    base: &'static str,
    href_param: &'static str,
    prefix: &'static str,
    tag: &'static str,
    plain: &'static [&'static str],
    csv: &'static [&'static str],
    any_of: &'static [&'static str],
    booleans: &'static [&'static str],
}

fn add_ops(doc: &mut ApiDoc, o: Ops, page: Value, resp: Value) {
    // The filters every content list takes besides its own.
    let plain: Vec<&str> = o
        .plain
        .iter()
        .copied()
        .chain(["pulp_label_select"])
        .chain(VERSION_FILTERS)
        .collect();
    let csv: Vec<&str> = o.csv.iter().copied().chain(COMMON_CSV_FILTERS).collect();
    let mut filters = openapi::list_filters(&plain, &csv);
    filters.extend(o.any_of.iter().map(|f| any_of_param(f)));
    filters.extend(
        o.booleans
            .iter()
            .map(|f| openapi::query_param(f, "boolean", f)),
    );
    doc.add(
        Op::new("get", o.base, format!("{}_list", o.prefix), o.tag)
            .params(filters)
            .response(200, Some(page)),
    );
    doc.add(
        Op::new(
            "get",
            format!("{{{}}}", o.href_param),
            format!("{}_read", o.prefix),
            o.tag,
        )
        .param(openapi::href_param(o.href_param))
        .params(openapi::field_params())
        .response(200, Some(resp)),
    );
}

pub fn openapi(doc: &mut ApiDoc) {
    let page = doc.paginated::<ContainerManifestResponse>();
    let resp = doc.schema::<ContainerManifestResponse>();
    add_ops(
        doc,
        Ops {
            base: MANIFESTS,
            href_param: "container_manifest_href",
            prefix: "content_container_manifests",
            tag: "Content: Manifests",
            plain: &["digest"],
            csv: &["digest__in"],
            any_of: &["media_type"],
            booleans: &["is_bootable", "is_flatpak"],
        },
        page,
        resp,
    );
    let page = doc.paginated::<ContainerBlobResponse>();
    let resp = doc.schema::<ContainerBlobResponse>();
    add_ops(
        doc,
        Ops {
            base: BLOBS,
            href_param: "container_blob_href",
            prefix: "content_container_blobs",
            tag: "Content: Blobs",
            plain: &["digest"],
            csv: &["digest__in"],
            any_of: &[],
            booleans: &[],
        },
        page,
        resp,
    );
    let page = doc.paginated::<ContainerTagResponse>();
    let resp = doc.schema::<ContainerTagResponse>();
    add_ops(
        doc,
        Ops {
            base: TAGS,
            href_param: "container_tag_href",
            prefix: "content_container_tags",
            tag: "Content: Tags",
            plain: &[
                "name",
                "name__contains",
                "name__icontains",
                "name__iexact",
                "name__startswith",
            ],
            csv: &["name__in"],
            any_of: &["digest", "media_type"],
            booleans: &[],
        },
        page,
        resp,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_sizes() {
        let image = r#"{"schemaVersion":2,"config":{"size":7},"layers":[{"size":10},{"size":5}]}"#;
        assert_eq!(layers_size(image), Some(15));
        assert_eq!(layers_size(r#"{"schemaVersion":2,"manifests":[]}"#), None);
        assert_eq!(layers_size("not json"), None);
    }

    #[test]
    fn openapi_operations() {
        let mut doc = ApiDoc::default();
        openapi(&mut doc);
        let v = doc.build(&[]);
        let paths = &v["paths"];
        for (path, id) in [
            (MANIFESTS, "content_container_manifests_list"),
            (BLOBS, "content_container_blobs_list"),
            (TAGS, "content_container_tags_list"),
            (
                "{container_manifest_href}",
                "content_container_manifests_read",
            ),
            ("{container_blob_href}", "content_container_blobs_read"),
            ("{container_tag_href}", "content_container_tags_read"),
        ] {
            assert_eq!(paths[path]["get"]["operationId"], id, "{path}");
        }
        let schemas = &v["components"]["schemas"];
        let manifest = &schemas["ContainerManifestResponse"]["properties"];
        for f in ["pulp_href", "prn", "digest", "listed_manifests", "type"] {
            assert!(manifest.get(f).is_some(), "manifest field {f}");
        }
        assert!(schemas["ContainerBlobResponse"]["properties"]["artifact"].is_object());
        assert!(schemas["ContainerTagResponse"]["properties"]["tagged_manifest"].is_object());
    }
}

//! `content/container/{manifests,blobs,tags}/`: read-only lists of container content, as
//! pulp_container serves them. Units are made by pushes and syncs, never through these
//! endpoints.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::hrefs::Kind;
use depot_core::models::list::{Bind, ListQuery};
use depot_core::models::{Labels, labels_from_text};
use depot_core::{CoreError, CoreResult};
use depot_http::list::{fetch_page, href_filters, name_filters};
use depot_http::openapi::{self, ApiDoc, Op};
use depot_http::{ApiResult, AppState, Authenticated, ListParams, QueryMap, ok, shaped};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

const MANIFESTS: &str = "/pulp/api/v3/content/container/manifests/";
const BLOBS: &str = "/pulp/api/v3/content/container/blobs/";
const TAGS: &str = "/pulp/api/v3/content/container/tags/";

pub fn router() -> Router<AppState> {
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

/// The `contents` columns every query below selects first, in this order.
const BASE_COLUMNS: &str = "c.id, c.pulp_labels, c.created, c.updated";
const BASE_LEN: usize = 4;

impl ContentBase {
    fn from_row(kind: Kind, row: &AnyRow) -> CoreResult<Self> {
        let id: String = row.try_get(0)?;
        Ok(Self {
            pulp_href: kind.href(&id),
            prn: kind.prn(&id),
            pulp_labels: labels_from_text(&row.try_get::<String, _>(1)?),
            pulp_created: row.try_get(2)?,
            pulp_last_updated: row.try_get(3)?,
            vuln_report: None,
        })
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

/// One content type: its href kind, query and orderings.
struct Resource {
    kind: Kind,
    model: &'static str,
    /// Columns after [`BASE_COLUMNS`].
    columns: &'static str,
    from: &'static str,
    ordering: &'static [(&'static str, &'static str)],
}

const MANIFEST: Resource = Resource {
    kind: &depot_container::plugin::MANIFEST,
    model: "Manifest",
    // The platform comes from an index that lists the manifest, when one does.
    columns: "m.digest, m.schema_version, m.media_type, m.config_blob_id, m.annotations, m.data, \
        (SELECT MIN(lm.architecture) FROM container_listed_manifests lm WHERE lm.manifest_id = m.content_id), \
        (SELECT MIN(lm.os) FROM container_listed_manifests lm WHERE lm.manifest_id = m.content_id)",
    from: "contents c JOIN container_manifests m ON m.content_id = c.id",
    ordering: &[
        ("digest", "m.digest"),
        ("media_type", "m.media_type"),
        ("schema_version", "m.schema_version"),
        ("pulp_created", "c.created"),
        ("pulp_last_updated", "c.updated"),
        ("pk", "c.id"),
    ],
};

const BLOB: Resource = Resource {
    kind: &depot_container::plugin::BLOB,
    model: "Blob",
    columns: "b.digest, ca.artifact_id",
    from: "contents c JOIN container_blobs b ON b.content_id = c.id \
        LEFT JOIN content_artifacts ca ON ca.content_id = c.id",
    ordering: &[
        ("digest", "b.digest"),
        ("pulp_created", "c.created"),
        ("pulp_last_updated", "c.updated"),
        ("pk", "c.id"),
    ],
};

const TAG: Resource = Resource {
    kind: &depot_container::plugin::TAG,
    model: "Tag",
    columns: "t.name, t.manifest_id",
    from: "contents c JOIN container_tags t ON t.content_id = c.id \
        JOIN container_manifests m ON m.content_id = t.manifest_id",
    ordering: &[
        ("name", "t.name"),
        ("pulp_created", "c.created"),
        ("pulp_last_updated", "c.updated"),
        ("pk", "c.id"),
    ],
};

impl Resource {
    fn query(&self) -> ListQuery {
        ListQuery::new(&format!("{BASE_COLUMNS}, {}", self.columns), self.from)
    }

    /// One page of units matching the common content filters plus those `add` sets.
    async fn page(
        &self,
        state: &AppState,
        query: &QueryMap,
        add: impl FnOnce(&mut ListQuery) -> ApiResult<()>,
    ) -> ApiResult<(ListParams, i64, Vec<AnyRow>)> {
        let params = ListParams::from_query(query)?;
        let mut q = self.query();
        href_filters(&mut q, query, self.kind, "c.id");
        crate::repository_version_filters(state, &mut q, query).await?;
        add(&mut q)?;
        for o in params.order_sql(self.ordering, "c.created DESC, c.id DESC")? {
            q.order_by(&o);
        }
        let (count, rows) = fetch_page(state, &q, &params, query, Some("pulp_labels")).await?;
        Ok((params, count, rows))
    }

    async fn one(&self, state: &AppState, id: &str) -> ApiResult<AnyRow> {
        let mut q = self.query();
        q.filter("c.id = ?", vec![Bind::Text(id.to_string())]);
        let row = q.fetch(&state.db, Some(1), 0).await?.into_iter().next();
        Ok(row.ok_or_else(|| CoreError::not_found(self.model))?)
    }
}

/// `digest` (exact) and `digest__in` on `column`.
fn digest_filters(q: &mut ListQuery, query: &QueryMap, column: &str) {
    if let Some(d) = query.get("digest") {
        q.filter(&format!("{column} = ?"), vec![Bind::Text(d.to_string())]);
    }
    if query.get("digest__in").is_some() {
        q.filter_in(column, query.list("digest__in"));
    }
}

/// A filter taking one value or several (repeated or comma-separated), matching any of them.
fn any_of_filter(q: &mut ListQuery, query: &QueryMap, param: &str, column: &str) {
    if query.get(param).is_some() {
        q.filter_in(column, query.list(param));
    }
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
            digest_filters(q, &query, "m.digest");
            any_of_filter(q, &query, "media_type", "m.media_type");
            // Depot does not read image configs, so no manifest is bootable or a flatpak.
            for flag in ["is_bootable", "is_flatpak"] {
                if query.bool(flag)? == Some(true) {
                    q.filter("1 = 0", vec![]);
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
    _: Authenticated,
    Path(id): Path<String>,
    query: QueryMap,
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
    let ids = rows
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<Vec<_>, _>>()?;
    let mut listed = related(
        state,
        "SELECT list_id, manifest_id FROM container_listed_manifests WHERE list_id IN ({}) \
         ORDER BY manifest_id",
        &ids,
    )
    .await?;
    let mut blobs = related(
        state,
        "SELECT manifest_id, blob_id FROM container_manifest_blobs WHERE manifest_id IN ({}) \
         ORDER BY blob_id",
        &ids,
    )
    .await?;
    let hrefs = |kind: Kind, ids: Option<Vec<String>>| -> Vec<String> {
        ids.unwrap_or_default()
            .iter()
            .map(|id| kind.href(id))
            .collect()
    };
    rows.iter()
        .zip(&ids)
        .map(|(r, id)| {
            let col = |i: usize| BASE_LEN + i;
            let config: Option<String> = r.try_get(col(3))?;
            let data: String = r.try_get(col(5))?;
            Ok(ContainerManifestResponse {
                base: ContentBase::from_row(&depot_container::plugin::MANIFEST, r)?,
                digest: r.try_get(col(0))?,
                schema_version: r.try_get(col(1))?,
                media_type: r.try_get(col(2))?,
                listed_manifests: hrefs(&depot_container::plugin::MANIFEST, listed.remove(id)),
                config_blob: config.map(|b| depot_container::plugin::BLOB.href(&b)),
                blobs: hrefs(&depot_container::plugin::BLOB, blobs.remove(id)),
                annotations: labels_from_text(&r.try_get::<String, _>(col(4))?),
                labels: Map::new(),
                is_bootable: false,
                is_flatpak: false,
                architecture: r.try_get(col(6))?,
                os: r.try_get(col(7))?,
                compressed_image_size: layers_size(&data),
                manifest_type: None,
            })
        })
        .collect()
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

/// Runs `sql` (selecting owner id, related id, with `{}` for the owner id placeholders) over
/// `ids` and groups the related ids by owner.
async fn related(
    state: &AppState,
    sql: &str,
    ids: &[String],
) -> CoreResult<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let sql = sql.replace("{}", &depot_core::db::placeholders(1, chunk.len()));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(state.db.pool()).await? {
            out.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
        }
    }
    Ok(out)
}

// Blobs.

fn blob(r: &AnyRow) -> CoreResult<ContainerBlobResponse> {
    let artifact: Option<String> = r.try_get(BASE_LEN + 1)?;
    Ok(ContainerBlobResponse {
        base: ContentBase::from_row(&depot_container::plugin::BLOB, r)?,
        artifact: artifact.map(|a| depot_core::hrefs::ARTIFACT.href(&a)),
        digest: r.try_get(BASE_LEN)?,
    })
}

async fn blobs_list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let (params, count, rows) = BLOB
        .page(&state, &query, |q| {
            digest_filters(q, &query, "b.digest");
            Ok(())
        })
        .await?;
    let results = rows.iter().map(blob).collect::<CoreResult<Vec<_>>>()?;
    Ok(page_response(&params, &query, count, values(results)))
}

async fn blobs_read(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let row = BLOB.one(&state, &id).await?;
    shaped(&query, &blob(&row)?)
}

// Tags.

fn tag(r: &AnyRow) -> CoreResult<ContainerTagResponse> {
    let manifest: String = r.try_get(BASE_LEN + 1)?;
    Ok(ContainerTagResponse {
        base: ContentBase::from_row(&depot_container::plugin::TAG, r)?,
        name: r.try_get(BASE_LEN)?,
        tagged_manifest: depot_container::plugin::MANIFEST.href(&manifest),
    })
}

async fn tags_list(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let (params, count, rows) = TAG
        .page(&state, &query, |q| {
            name_filters(q, &query, "name", "t.name");
            any_of_filter(q, &query, "digest", "m.digest");
            any_of_filter(q, &query, "media_type", "m.media_type");
            Ok(())
        })
        .await?;
    let results = rows.iter().map(tag).collect::<CoreResult<Vec<_>>>()?;
    Ok(page_response(&params, &query, count, values(results)))
}

async fn tags_read(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let row = TAG.one(&state, &id).await?;
    shaped(&query, &tag(&row)?)
}

// OpenAPI.

/// The filters every content list takes besides its own.
const COMMON_FILTERS: [&str; 4] = [
    "repository_version",
    "repository_version_added",
    "repository_version_removed",
    "pulp_label_select",
];
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
    let plain: Vec<&str> = o.plain.iter().copied().chain(COMMON_FILTERS).collect();
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

//! Container content as the REST lists show it: manifests, blobs and tags with the columns each
//! list reads, their rows, and what manifests reference.

use std::collections::HashMap;

use depot_core::CoreResult;
use depot_core::db::Db;
use depot_core::models::list::{Bind, Filter, ListQuery, Table};
use depot_core::models::{Labels, labels_from_text};
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

/// What every content row has.
#[derive(Debug)]
pub struct Unit {
    pub id: String,
    pub pulp_labels: Labels,
    pub created: String,
    pub updated: String,
}

impl Unit {
    fn from_row(row: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            pulp_labels: labels_from_text(&row.try_get::<String, _>("pulp_labels")?),
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }
}

pub static MANIFESTS: Table = Table {
    // The platform comes from an index that lists the manifest, when one does.
    select: "c.id, c.pulp_labels, c.created, c.updated, m.digest, m.schema_version, m.media_type, \
        m.config_blob_id, m.annotations, m.data, \
        (SELECT MIN(lm.architecture) FROM container_listed_manifests lm WHERE lm.manifest_id = m.content_id) AS architecture, \
        (SELECT MIN(lm.os) FROM container_listed_manifests lm WHERE lm.manifest_id = m.content_id) AS os",
    from: "contents c JOIN container_manifests m ON m.content_id = c.id",
    fields: &[
        ("pulp_labels", "c.pulp_labels"),
        ("id", "c.id"),
        ("pk", "c.id"),
        ("pulp_created", "c.created"),
        ("pulp_last_updated", "c.updated"),
        ("digest", "m.digest"),
        ("media_type", "m.media_type"),
        ("schema_version", "m.schema_version"),
    ],
    domain: Some("c.domain_id"),
};

pub static BLOBS: Table = Table {
    select: "c.id, c.pulp_labels, c.created, c.updated, b.digest, ca.artifact_id",
    from: "contents c JOIN container_blobs b ON b.content_id = c.id \
        LEFT JOIN content_artifacts ca ON ca.content_id = c.id",
    fields: &[
        ("pulp_labels", "c.pulp_labels"),
        ("id", "c.id"),
        ("pk", "c.id"),
        ("pulp_created", "c.created"),
        ("pulp_last_updated", "c.updated"),
        ("digest", "b.digest"),
    ],
    domain: Some("c.domain_id"),
};

pub static TAGS: Table = Table {
    select: "c.id, c.pulp_labels, c.created, c.updated, t.name, t.manifest_id",
    from: "contents c JOIN container_tags t ON t.content_id = c.id \
        JOIN container_manifests m ON m.content_id = t.manifest_id",
    fields: &[
        ("pulp_labels", "c.pulp_labels"),
        ("id", "c.id"),
        ("pk", "c.id"),
        ("pulp_created", "c.created"),
        ("pulp_last_updated", "c.updated"),
        ("name", "t.name"),
        ("digest", "m.digest"),
        ("media_type", "m.media_type"),
    ],
    domain: Some("c.domain_id"),
};

#[derive(Debug)]
pub struct ManifestRow {
    pub unit: Unit,
    pub digest: String,
    pub schema_version: i64,
    pub media_type: String,
    pub config_blob_id: Option<String>,
    pub annotations: Map<String, Value>,
    pub data: String,
    pub architecture: Option<String>,
    pub os: Option<String>,
}

impl ManifestRow {
    pub fn from_row(r: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            unit: Unit::from_row(r)?,
            digest: r.try_get("digest")?,
            schema_version: r.try_get("schema_version")?,
            media_type: r.try_get("media_type")?,
            config_blob_id: r.try_get("config_blob_id")?,
            annotations: labels_from_text(&r.try_get::<String, _>("annotations")?),
            data: r.try_get("data")?,
            architecture: r.try_get("architecture")?,
            os: r.try_get("os")?,
        })
    }
}

#[derive(Debug)]
pub struct BlobRow {
    pub unit: Unit,
    pub digest: String,
    pub artifact_id: Option<String>,
}

impl BlobRow {
    pub fn from_row(r: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            unit: Unit::from_row(r)?,
            digest: r.try_get("digest")?,
            artifact_id: r.try_get("artifact_id")?,
        })
    }
}

#[derive(Debug)]
pub struct TagRow {
    pub unit: Unit,
    pub name: String,
    pub manifest_id: String,
}

impl TagRow {
    pub fn from_row(r: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            unit: Unit::from_row(r)?,
            name: r.try_get("name")?,
            manifest_id: r.try_get("manifest_id")?,
        })
    }
}

/// The row of unit `id` in `table`, if there is one.
pub async fn one(db: &Db, table: &'static Table, id: &str) -> CoreResult<Option<AnyRow>> {
    let mut q = ListQuery::of(table);
    q.with(Filter::Is("id", Bind::Text(id.to_string())))?;
    Ok(q.fetch(db, Some(1), 0).await?.into_iter().next())
}

/// What manifests reference, by manifest id: the manifests an index lists, and the blobs an
/// image names.
pub struct References {
    pub listed: HashMap<String, Vec<String>>,
    pub blobs: HashMap<String, Vec<String>>,
}

/// The references of every manifest of `ids`, in two queries per 500 manifests.
pub async fn references(db: &Db, ids: &[String]) -> CoreResult<References> {
    Ok(References {
        listed: related(
            db,
            "SELECT list_id, manifest_id FROM container_listed_manifests WHERE list_id IN ({}) \
             ORDER BY manifest_id",
            ids,
        )
        .await?,
        blobs: related(
            db,
            "SELECT manifest_id, blob_id FROM container_manifest_blobs WHERE manifest_id IN ({}) \
             ORDER BY blob_id",
            ids,
        )
        .await?,
    })
}

/// Runs `sql` (selecting owner id, related id, with `{}` for the owner id placeholders) over
/// `ids` and groups the related ids by owner.
async fn related(db: &Db, sql: &str, ids: &[String]) -> CoreResult<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let sql = sql.replace("{}", &depot_core::db::placeholders(1, chunk.len()));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(db.pool()).await? {
            out.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
        }
    }
    Ok(out)
}

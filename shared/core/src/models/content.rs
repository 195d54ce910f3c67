//! Content in Pulp's master/detail shape: a `contents` row for every unit plus a per-type detail
//! row that its plugin owns, and the unit's files as content artifacts, which may be fetched
//! on demand from the remotes recorded for them.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use crate::CoreResult;
use crate::db::Db;
use crate::plugin::{self, Family};

/// Whether content unit `id` exists in the domain in force and is of type `pulp_type`.
pub async fn exists(db: &Db, id: &str, pulp_type: &str) -> CoreResult<bool> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM contents WHERE id = $1 AND pulp_type = $2 AND domain_id = $3",
    )
    .bind(id)
    .bind(pulp_type)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?;
    Ok(found.is_some())
}

/// Records (or refreshes) where the file `content_artifact_id` can be fetched from `remote_id`
/// (an on-demand file, checked against `size` and `sha256` when it is fetched).
pub async fn add_remote_source(
    tx: &mut crate::db::Tx,
    content_artifact_id: &str,
    remote_id: &str,
    url: &str,
    size: Option<i64>,
    sha256: Option<&str>,
) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO remote_artifacts (id, content_artifact_id, remote_id, url, size, sha256) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (content_artifact_id, remote_id) DO UPDATE SET url = excluded.url",
    )
    .bind(crate::new_id())
    .bind(content_artifact_id)
    .bind(remote_id)
    .bind(url)
    .bind(size)
    .bind(sha256)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Attaches a downloaded artifact to a content unit's file.
pub async fn attach_artifact(db: &Db, content_id: &str, artifact_id: &str) -> CoreResult<()> {
    sqlx::query("UPDATE content_artifacts SET artifact_id = $2 WHERE content_id = $1")
        .bind(content_id)
        .bind(artifact_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The files `remote_id` offers whose bytes are not stored yet:
/// (content id, url, expected size, expected sha256).
pub async fn missing_from(
    db: &Db,
    remote_id: &str,
) -> CoreResult<Vec<(String, String, Option<i64>, Option<String>)>> {
    let rows = sqlx::query(
        "SELECT ca.content_id, ra.url, ra.size, ra.sha256 FROM content_artifacts ca \
         JOIN remote_artifacts ra ON ra.content_artifact_id = ca.id AND ra.remote_id = $1 \
         WHERE ca.artifact_id IS NULL",
    )
    .bind(remote_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect()
}

/// Where an on-demand file can be fetched: (url, expected size, expected sha256, remote id).
pub async fn remote_sources(
    db: &Db,
    content_artifact_id: &str,
) -> CoreResult<Vec<(String, Option<i64>, Option<String>, String)>> {
    let rows = sqlx::query(
        "SELECT url, size, sha256, remote_id FROM remote_artifacts WHERE content_artifact_id = $1",
    )
    .bind(content_artifact_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect()
}

/// Content of every type, as the generic list (`content/`) sees it.
pub static TABLE: Table = Table {
    select: "c.id, c.pulp_type, c.pulp_labels, c.created, c.updated",
    from: "contents c",
    fields: &[
        ("pulp_labels", "c.pulp_labels"),
        ("id", "c.id"),
        ("pk", "c.id"),
        ("pulp_type", "c.pulp_type"),
        ("pulp_created", "c.created"),
        ("pulp_last_updated", "c.updated"),
    ],
    domain: Some("c.domain_id"),
};

/// A content unit as Pulp's generic list shows it: what every type has.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContentResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub pulp_labels: super::Labels,
    /// Always null: vulnerability reports are not kept.
    pub vuln_report: Option<Value>,
    /// Each file of the unit by its relative path: its artifact's href (null while on demand).
    pub artifacts: serde_json::Map<String, Value>,
}

/// Rows of [`TABLE`] as [`ContentResponse`]s, with their files.
pub async fn generic_responses(db: &Db, rows: &[AnyRow]) -> CoreResult<Vec<ContentResponse>> {
    let ids: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
    let mut files = artifacts_of(db, &ids).await?;
    rows.iter()
        .zip(&ids)
        .map(|(row, id)| {
            let mut unit = generic_response(row)?;
            unit.artifacts = files.remove(id).unwrap_or_default();
            Ok(unit)
        })
        .collect()
}

/// A row of [`TABLE`] as [`ContentResponse`], without its files.
fn generic_response(row: &AnyRow) -> CoreResult<ContentResponse> {
    let id: String = row.try_get("id")?;
    let kind = plugin::find(Family::Content, &row.try_get::<String, _>("pulp_type")?)?;
    Ok(ContentResponse {
        pulp_href: kind.href(&id),
        prn: kind.prn(&id),
        pulp_created: row.try_get("created")?,
        pulp_last_updated: row.try_get("updated")?,
        pulp_labels: super::labels_from_text(&row.try_get::<String, _>("pulp_labels")?),
        vuln_report: None,
        artifacts: Default::default(),
    })
}

/// The files of the content units `ids`: content id -> relative path -> artifact href (null
/// while the file is on demand). One query for a page of units.
async fn artifacts_of(
    db: &Db,
    ids: &[String],
) -> CoreResult<std::collections::HashMap<String, serde_json::Map<String, Value>>> {
    let mut out: std::collections::HashMap<String, serde_json::Map<String, Value>> =
        Default::default();
    if ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT content_id, relative_path, artifact_id FROM content_artifacts WHERE content_id IN ({})",
        crate::db::placeholders(1, ids.len())
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(id);
    }
    for row in q.fetch_all(db.pool()).await? {
        let artifact: Option<String> = row.try_get(2)?;
        let href = artifact.map_or(Value::Null, |a| crate::hrefs::ARTIFACT.href(&a).into());
        out.entry(row.try_get(0)?)
            .or_default()
            .insert(row.try_get(1)?, href);
    }
    Ok(out)
}

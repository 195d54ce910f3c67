//! Artifacts: files stored once per sha256 in each domain.

use schemars::JsonSchema;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use crate::checksums::Digests;
use crate::db::Db;
use crate::{CoreError, CoreResult};

#[derive(Debug, Clone)]
pub struct Artifact {
    pub id: String,
    pub file: String,
    pub digests: Digests,
    pub created: String,
    pub updated: String,
}

pub const COLUMNS: &str =
    "id, file, size, md5, sha1, sha224, sha256, sha384, sha512, created, updated";

/// Artifacts as lists see them.
pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "artifacts",
    fields: &[
        ("id", "id"),
        ("pk", "id"),
        ("size", "size"),
        ("md5", "md5"),
        ("sha1", "sha1"),
        ("sha224", "sha224"),
        ("sha256", "sha256"),
        ("sha384", "sha384"),
        ("sha512", "sha512"),
        ("pulp_created", "created"),
    ],
    domain: Some("artifacts.domain_id"),
};

impl Artifact {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            file: row.try_get("file")?,
            digests: Digests {
                size: row.try_get::<i64, _>("size")? as u64,
                md5: row.try_get("md5")?,
                sha1: row.try_get("sha1")?,
                sha224: row.try_get("sha224")?,
                sha256: row.try_get("sha256")?,
                sha384: row.try_get("sha384")?,
                sha512: row.try_get("sha512")?,
            },
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn href(&self) -> String {
        crate::hrefs::ARTIFACT.href(&self.id)
    }

    pub fn response(&self) -> ArtifactResponse {
        let d = &self.digests;
        ArtifactResponse {
            pulp_href: self.href(),
            prn: crate::hrefs::ARTIFACT.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            file: self.file.clone(),
            size: d.size as i64,
            md5: d.md5.clone(),
            sha1: d.sha1.clone(),
            sha224: d.sha224.clone(),
            sha256: Some(d.sha256.clone()),
            sha384: d.sha384.clone(),
            sha512: d.sha512.clone(),
        }
    }
}

/// A file stored once per sha256.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ArtifactResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    /// The stored file's name in the storage backend.
    pub file: String,
    pub size: i64,
    pub md5: Option<String>,
    pub sha1: Option<String>,
    pub sha224: Option<String>,
    pub sha256: Option<String>,
    pub sha384: Option<String>,
    pub sha512: Option<String>,
}

pub async fn get(db: &Db, id: &str) -> CoreResult<Artifact> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM artifacts WHERE id = $1 AND domain_id = $2"
    )))
    .bind(id)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Artifact"))?;
    Artifact::from_row(&row)
}

/// Counts the artifacts this process recorded or deleted: a figure derived from them (the
/// status's bytes used) is stale once it moved.
static CHANGES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// See [`CHANGES`].
pub fn changes() -> u64 {
    CHANGES.load(std::sync::atomic::Ordering::Relaxed)
}

fn changed() {
    CHANGES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// The files (storage key, and the key to page on) of the domain in force's artifacts recorded
/// after `since` (a page of them, in the order they were recorded).
pub async fn files_since(db: &Db, since: &str) -> CoreResult<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT file, created || id AS page FROM artifacts WHERE domain_id = $1 \
         AND created || id > $2 ORDER BY created || id LIMIT 500",
    )
    .bind(crate::domain::id().to_string())
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("file")?, r.try_get("page")?)))
        .collect()
}

/// The bytes the artifacts of the domain in force take.
pub async fn bytes_used(db: &Db) -> CoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM artifacts WHERE domain_id = $1",
    )
    .bind(crate::domain::id().to_string())
    .fetch_one(db.pool())
    .await?)
}

pub async fn find_by_sha256(db: &Db, sha256: &str) -> CoreResult<Option<Artifact>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM artifacts WHERE sha256 = $1 AND domain_id = $2"
    )))
    .bind(sha256)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(Artifact::from_row).transpose()
}

/// Records an artifact whose bytes are already in storage under `file`. Returns the existing row
/// when another writer recorded the same sha256 first.
pub async fn insert(db: &Db, file: &str, d: &Digests) -> CoreResult<Artifact> {
    let now = crate::time::now();
    sqlx::query(
        "INSERT INTO artifacts (id, file, size, md5, sha1, sha224, sha256, sha384, sha512, created, updated, \
         domain_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) \
         ON CONFLICT (domain_id, sha256) DO NOTHING",
    )
    .bind(crate::new_id())
    .bind(file)
    .bind(d.size as i64)
    .bind(d.md5.clone())
    .bind(d.sha1.clone())
    .bind(d.sha224.clone())
    .bind(d.sha256.clone())
    .bind(d.sha384.clone())
    .bind(d.sha512.clone())
    .bind(now)
    .bind(crate::domain::id().to_string())
    .execute(db.pool())
    .await?;
    changed();
    find_by_sha256(db, &d.sha256)
        .await?
        .ok_or_else(|| CoreError::Internal("artifact vanished after insert".into()))
}

/// The condition "artifact `a.id` is used by no content, publication or plugin row".
pub fn unused() -> String {
    let mut conditions = vec![
        "NOT EXISTS (SELECT 1 FROM content_artifacts ca WHERE ca.artifact_id = a.id)".to_string(),
        "NOT EXISTS (SELECT 1 FROM published_files pf WHERE pf.artifact_id = a.id)".to_string(),
        "NOT EXISTS (SELECT 1 FROM task_profile_artifacts tp WHERE tp.artifact_id = a.id)"
            .to_string(),
    ];
    for plugin in crate::plugin::installed() {
        for in_use in plugin.artifact_in_use {
            conditions.push(format!("NOT {in_use}"));
        }
    }
    conditions.join(" AND ")
}

/// Deletes an artifact row that nothing references. Returns false when it is still in use.
pub async fn delete_if_unused(db: &Db, id: &str) -> CoreResult<bool> {
    let sql = format!(
        "DELETE FROM artifacts WHERE id = $1 \
         AND EXISTS (SELECT 1 FROM artifacts a WHERE a.id = $1 AND {})",
        unused()
    );
    let res = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .execute(db.pool())
        .await?;
    changed();
    Ok(res.rows_affected() == 1)
}

//! File content: a `contents` row plus a `file_contents` row (relative path, sha256, size) and
//! one content artifact per unit.

use depot_core::db::{Db, Tx};
use depot_core::hrefs::ARTIFACT;
use depot_core::models::artifact::Artifact;
use depot_core::models::content::add_remote_source;
use depot_core::models::list::Table;
use depot_core::models::{Labels, labels_from_text};
use depot_core::{CoreError, CoreResult};
use schemars::JsonSchema;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{CONTENT, FILE_TYPE};

/// A file content unit with its artifact's digests when the bytes are stored.
#[derive(Debug, Clone)]
pub struct FileContent {
    pub id: String,
    pub relative_path: String,
    pub sha256: String,
    pub size: Option<i64>,
    pub pulp_labels: Labels,
    pub artifact_id: Option<String>,
    pub md5: Option<String>,
    pub sha1: Option<String>,
    pub sha224: Option<String>,
    pub sha384: Option<String>,
    pub sha512: Option<String>,
    pub created: String,
    pub updated: String,
}

/// The select list and joins every file content query uses.
pub const SELECT: &str = "c.id, fc.relative_path, fc.sha256, fc.size, c.pulp_labels, ca.artifact_id, \
    a.md5, a.sha1, a.sha224, a.sha384, a.sha512, c.created, c.updated";
pub const FROM: &str = "contents c JOIN file_contents fc ON fc.content_id = c.id \
    LEFT JOIN content_artifacts ca ON ca.content_id = c.id \
    LEFT JOIN artifacts a ON a.id = ca.artifact_id";

/// File content as lists see it.
pub static TABLE: Table = Table {
    select: SELECT,
    from: FROM,
    fields: &[
        ("pulp_labels", "c.pulp_labels"),
        ("id", "c.id"),
        ("pk", "c.id"),
        ("relative_path", "fc.relative_path"),
        ("sha256", "fc.sha256"),
        ("pulp_created", "c.created"),
        ("pulp_last_updated", "c.updated"),
    ],
    domain: Some("c.domain_id"),
};

impl FileContent {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            id: row.try_get(0)?,
            relative_path: row.try_get(1)?,
            sha256: row.try_get(2)?,
            size: row.try_get(3)?,
            pulp_labels: labels_from_text(&row.try_get::<String, _>(4)?),
            artifact_id: row.try_get(5)?,
            md5: row.try_get(6)?,
            sha1: row.try_get(7)?,
            sha224: row.try_get(8)?,
            sha384: row.try_get(9)?,
            sha512: row.try_get(10)?,
            created: row.try_get(11)?,
            updated: row.try_get(12)?,
        })
    }

    pub fn href(&self) -> String {
        CONTENT.href(&self.id)
    }

    pub fn response(&self) -> FileContentResponse {
        FileContentResponse {
            pulp_href: self.href(),
            prn: CONTENT.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            pulp_labels: self.pulp_labels.clone(),
            vuln_report: None,
            artifact: self.artifact_id.as_deref().map(|id| ARTIFACT.href(id)),
            relative_path: self.relative_path.clone(),
            md5: self.md5.clone(),
            sha1: self.sha1.clone(),
            sha224: self.sha224.clone(),
            sha256: Some(self.sha256.clone()),
            sha384: self.sha384.clone(),
            sha512: self.sha512.clone(),
        }
    }
}

/// A file content unit: one file at a relative path.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FileContentResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub pulp_labels: Labels,
    pub vuln_report: Option<String>,
    pub artifact: Option<String>,
    pub relative_path: String,
    pub md5: Option<String>,
    pub sha1: Option<String>,
    pub sha224: Option<String>,
    pub sha256: Option<String>,
    pub sha384: Option<String>,
    pub sha512: Option<String>,
}

pub async fn get(db: &Db, id: &str) -> CoreResult<FileContent> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SELECT} FROM {FROM} WHERE c.id = $1 AND c.domain_id = $2"
    )))
    .bind(id)
    .bind(depot_core::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("FileContent"))?;
    FileContent::from_row(&row)
}

/// Checks a user-given relative path: relative, no `..`, no empty or `.` segments, no control
/// characters (a line break would split a line of the published PULP_MANIFEST).
pub fn validate_relative_path(path: &str) -> CoreResult<()> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains(char::is_control)
        || path.len() > 255 * 4
        || path
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if bad {
        return Err(CoreError::field(
            "relative_path",
            "Relative path must be a relative path without '..', '.' or empty segments, \
             control characters or more than 1020 bytes.",
        ));
    }
    Ok(())
}

async fn find_id(db: &Db, relative_path: &str, sha256: &str) -> CoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT content_id FROM file_contents WHERE relative_path = $1 AND sha256 = $2 \
         AND domain_id = $3",
    )
    .bind(relative_path)
    .bind(sha256)
    .bind(depot_core::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?)
}

/// Finds or creates the file content for (relative_path, artifact). An existing unit whose file
/// was never downloaded gets the artifact attached.
pub async fn get_or_create_with_artifact(
    db: &Db,
    relative_path: &str,
    artifact: &Artifact,
    labels: &Labels,
) -> CoreResult<FileContent> {
    validate_relative_path(relative_path)?;
    let sha256 = &artifact.digests.sha256;
    if let Some(id) = find_id(db, relative_path, sha256).await? {
        sqlx::query("UPDATE content_artifacts SET artifact_id = $2 WHERE content_id = $1 AND artifact_id IS NULL")
            .bind(&id)
            .bind(&artifact.id)
            .execute(db.pool())
            .await?;
        return get(db, &id).await;
    }
    let id = insert(
        db,
        relative_path,
        sha256,
        Some(artifact.digests.size as i64),
        Some(&artifact.id),
        labels,
    )
    .await?;
    get(db, &id).await
}

/// Creates the content row set; on a race with an identical insert, returns the winner's id.
pub async fn insert(
    db: &Db,
    relative_path: &str,
    sha256: &str,
    size: Option<i64>,
    artifact_id: Option<&str>,
    labels: &Labels,
) -> CoreResult<String> {
    let id = depot_core::new_id();
    let now = depot_core::time::now();
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO contents (id, pulp_type, pulp_labels, created, updated, repo_key, domain_id) VALUES ($1, $2, $3, $4, $4, $5, $6)")
        .bind(&id)
        .bind(FILE_TYPE)
        .bind(serde_json::Value::Object(labels.clone()).to_string())
        .bind(&now)
        .bind(relative_path)
        .bind(depot_core::domain::id().to_string())
        .execute(&mut *tx)
        .await?;
    let res = sqlx::query("INSERT INTO file_contents (content_id, relative_path, sha256, size, domain_id) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(relative_path)
        .bind(sha256)
        .bind(size)
        .bind(depot_core::domain::id().to_string())
        .execute(&mut *tx)
        .await;
    if let Err(e) = res {
        let e = CoreError::from(e);
        if e.is_unique_violation() {
            drop(tx);
            return find_id(db, relative_path, sha256)
                .await?
                .ok_or_else(|| CoreError::Internal("content vanished".into()));
        }
        return Err(e);
    }
    sqlx::query("INSERT INTO content_artifacts (id, content_id, artifact_id, relative_path) VALUES ($1, $2, $3, $4)")
        .bind(depot_core::new_id())
        .bind(&id)
        .bind(artifact_id.map(str::to_string))
        .bind(relative_path)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// A file that a sync found in a remote manifest.
#[derive(Debug, Clone)]
pub struct RemoteFile {
    pub relative_path: String,
    pub sha256: String,
    pub size: u64,
    pub url: String,
}

/// Finds or creates file content for many remote files at once, recording where each can be
/// fetched from. Returns the content ids, in input order. Used by sync; safe against a concurrent
/// sync creating the same units.
pub async fn get_or_create_remote(
    db: &Db,
    remote_id: &str,
    files: &[RemoteFile],
) -> CoreResult<Vec<String>> {
    let mut ids = Vec::with_capacity(files.len());
    let no_labels = serde_json::Value::Object(Labels::new()).to_string();
    for chunk in files.chunks(200) {
        let mut tx = db.begin_write().await?;
        for f in chunk {
            let content_id = match find_id_in(&mut tx, &f.relative_path, &f.sha256).await? {
                Some(id) => id,
                None => create_remote_unit(&mut tx, f, &no_labels).await?,
            };
            attach_remote(&mut tx, &content_id, remote_id, f).await?;
            ids.push(content_id);
        }
        tx.commit().await?;
    }
    Ok(ids)
}

async fn find_id_in(tx: &mut Tx, relative_path: &str, sha256: &str) -> CoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT content_id FROM file_contents WHERE relative_path = $1 AND sha256 = $2 \
         AND domain_id = $3",
    )
    .bind(relative_path)
    .bind(sha256)
    .bind(depot_core::domain::id().to_string())
    .fetch_optional(&mut **tx)
    .await?)
}

/// Creates one unit for a remote file; when another transaction created it first, returns that
/// unit instead.
async fn create_remote_unit(tx: &mut Tx, f: &RemoteFile, labels: &str) -> CoreResult<String> {
    let id = depot_core::new_id();
    let now = depot_core::time::now();
    sqlx::query("INSERT INTO contents (id, pulp_type, pulp_labels, created, updated, repo_key, domain_id) VALUES ($1, $2, $3, $4, $4, $5, $6)")
        .bind(&id)
        .bind(FILE_TYPE)
        .bind(labels)
        .bind(&now)
        .bind(&f.relative_path)
        .bind(depot_core::domain::id().to_string())
        .execute(&mut **tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO file_contents (content_id, relative_path, sha256, size, domain_id) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (domain_id, relative_path, sha256) DO NOTHING",
    )
    .bind(&id)
    .bind(&f.relative_path)
    .bind(&f.sha256)
    .bind(f.size as i64)
    .bind(depot_core::domain::id().to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        sqlx::query("DELETE FROM contents WHERE id = $1")
            .bind(&id)
            .execute(&mut **tx)
            .await?;
        return find_id_in(tx, &f.relative_path, &f.sha256)
            .await?
            .ok_or_else(|| CoreError::Internal("content vanished during sync".into()));
    }
    // Attach the artifact at once when the bytes are already stored.
    let artifact_id: Option<String> =
        sqlx::query_scalar("SELECT id FROM artifacts WHERE sha256 = $1 AND domain_id = $2")
            .bind(&f.sha256)
            .bind(depot_core::domain::id().to_string())
            .fetch_optional(&mut **tx)
            .await?;
    sqlx::query("INSERT INTO content_artifacts (id, content_id, artifact_id, relative_path) VALUES ($1, $2, $3, $4)")
        .bind(depot_core::new_id())
        .bind(&id)
        .bind(artifact_id)
        .bind(&f.relative_path)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Records (or refreshes) where a unit's file can be fetched from this remote.
async fn attach_remote(
    tx: &mut Tx,
    content_id: &str,
    remote_id: &str,
    f: &RemoteFile,
) -> CoreResult<()> {
    let ca_id: String =
        sqlx::query_scalar("SELECT id FROM content_artifacts WHERE content_id = $1")
            .bind(content_id)
            .fetch_one(&mut **tx)
            .await?;
    let size = Some(f.size as i64);
    add_remote_source(tx, &ca_id, remote_id, &f.url, size, Some(&f.sha256)).await
}

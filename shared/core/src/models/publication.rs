//! Publications: what a repository version serves, fixed at publish time.

use schemars::JsonSchema;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Db, get_bool};
use crate::hrefs::{Kind, version_href};
use crate::{CoreError, CoreResult};

#[derive(Debug, Clone)]
pub struct Publication {
    pub id: String,
    /// `file.file`, or `python.python` (which serves its version's content as it is).
    pub pulp_type: String,
    pub repository_version_id: String,
    pub repository_id: String,
    pub number: i64,
    pub manifest: Option<String>,
    pub checkpoint: bool,
    pub pass_through: bool,
    pub created: String,
    pub updated: String,
}

pub const SELECT: &str = "p.id, p.repository_version_id, v.repository_id, v.number, p.manifest, p.checkpoint, \
    p.pass_through, p.created, p.updated, p.pulp_type";
pub const FROM: &str =
    "publications p JOIN repository_versions v ON v.id = p.repository_version_id";

impl Publication {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            id: row.try_get(0)?,
            repository_version_id: row.try_get(1)?,
            repository_id: row.try_get(2)?,
            number: row.try_get(3)?,
            manifest: row.try_get(4)?,
            checkpoint: get_bool(row, "checkpoint")?,
            pass_through: get_bool(row, "pass_through")?,
            created: row.try_get(7)?,
            updated: row.try_get(8)?,
            pulp_type: row.try_get(9)?,
        })
    }

    pub fn kind(&self) -> Kind {
        Kind::publication(&self.pulp_type)
    }

    pub fn href(&self) -> String {
        self.kind().href(&self.id)
    }
}

/// A file publication: a repository version's files plus a generated PULP_MANIFEST.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FilePublicationResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub repository_version: String,
    pub repository: String,
    pub distributions: Vec<String>,
    pub manifest: Option<String>,
    pub checkpoint: bool,
}

pub async fn get(db: &Db, id: &str) -> CoreResult<Publication> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SELECT} FROM {FROM} WHERE p.id = $1"
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Publication"))?;
    Publication::from_row(&row)
}

pub async fn response(db: &Db, p: &Publication) -> CoreResult<FilePublicationResponse> {
    let dists: Vec<String> =
        sqlx::query_scalar("SELECT id FROM distributions WHERE publication_id = $1 ORDER BY name")
            .bind(&p.id)
            .fetch_all(db.pool())
            .await?;
    let repository = Kind::repository(&p.pulp_type);
    let distribution = match p.kind() {
        Kind::PythonPublication => Kind::PythonDistribution,
        _ => Kind::FileDistribution,
    };
    Ok(FilePublicationResponse {
        pulp_href: p.href(),
        prn: p.kind().prn(&p.id),
        pulp_created: p.created.clone(),
        pulp_last_updated: p.updated.clone(),
        repository_version: version_href(repository, &p.repository_id, p.number),
        repository: repository.href(&p.repository_id),
        distributions: dists.iter().map(|d| distribution.href(d)).collect(),
        manifest: p.manifest.clone(),
        checkpoint: p.checkpoint,
    })
}

/// One file of a publication: a content artifact served under `relative_path`, or a generated
/// metadata artifact.
pub struct PublishedFile {
    pub relative_path: String,
    pub content_artifact_id: Option<String>,
    pub artifact_id: Option<String>,
}

/// Records a complete publication in one transaction, so a half-made one is never visible.
pub async fn create(
    db: &Db,
    pulp_type: &str,
    repository_version_id: &str,
    manifest: Option<String>,
    checkpoint: bool,
    pass_through: bool,
    files: Vec<PublishedFile>,
) -> CoreResult<Publication> {
    let id = crate::new_id();
    let now = crate::time::now();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO publications (id, pulp_type, repository_version_id, manifest, checkpoint, pass_through, created, updated) \
         VALUES ($1, $7, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(repository_version_id)
    .bind(manifest)
    .bind(checkpoint)
    .bind(pass_through)
    .bind(&now)
    .bind(pulp_type)
    .execute(&mut *tx)
    .await?;
    for chunk in files.chunks(200) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${}, ${})", 2 + 3 * i, 3 + 3 * i, 4 + 3 * i))
            .collect();
        let sql = format!(
            "INSERT INTO published_files (publication_id, relative_path, content_artifact_id, artifact_id) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.clone());
        for f in chunk {
            q = q
                .bind(f.relative_path.clone())
                .bind(f.content_artifact_id.clone())
                .bind(f.artifact_id.clone());
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    get(db, &id).await
}

pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    let res = sqlx::query("DELETE FROM publications WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    if res.rows_affected() == 0 {
        return Err(CoreError::not_found("Publication"));
    }
    Ok(())
}

/// Publishes a repository version: every file under its relative path plus a `manifest` file.
/// The manifest is generated (`relative_path,sha256,size` per line) unless `upstream_manifest`
/// is given, which a mirror sync passes through as it was fetched.
pub async fn publish(
    core: &crate::Core,
    v: &super::version::Version,
    manifest: &str,
    checkpoint: bool,
    upstream_manifest: Option<bytes::Bytes>,
) -> CoreResult<Publication> {
    let sql = format!(
        "SELECT ca.id, fc.relative_path, fc.sha256, COALESCE(fc.size, a.size) FROM repository_contents rc \
         JOIN file_contents fc ON fc.content_id = rc.content_id \
         JOIN content_artifacts ca ON ca.content_id = rc.content_id \
         LEFT JOIN artifacts a ON a.id = ca.artifact_id WHERE {} ORDER BY fc.relative_path",
        super::version::present_condition(1, 2)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&v.repository_id)
        .bind(v.number)
        .fetch_all(core.db.pool())
        .await?;
    let mut generated = String::new();
    let mut files = Vec::with_capacity(rows.len() + 1);
    for r in &rows {
        let path: String = r.try_get(1)?;
        let sha: String = r.try_get(2)?;
        let size: Option<i64> = r.try_get(3)?;
        generated.push_str(&format!("{path},{sha},{}\n", size.unwrap_or(0)));
        if path != manifest {
            files.push(PublishedFile {
                relative_path: path,
                content_artifact_id: Some(r.try_get(0)?),
                artifact_id: None,
            });
        }
    }
    let pass_through = upstream_manifest.is_some();
    let bytes = upstream_manifest.unwrap_or_else(|| bytes::Bytes::from(generated));
    let manifest_artifact = crate::artifacts::ingest_bytes(core, bytes).await?;
    files.push(PublishedFile {
        relative_path: manifest.to_string(),
        content_artifact_id: None,
        artifact_id: Some(manifest_artifact.id),
    });
    create(
        &core.db,
        "file.file",
        &v.id,
        Some(manifest.to_string()),
        checkpoint,
        pass_through,
        files,
    )
    .await
}

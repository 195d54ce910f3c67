//! Publications: what a repository version serves, fixed at publish time.

use schemars::JsonSchema;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use crate::db::{Db, get_bool};
use crate::hrefs::{Kind, version_href};
use crate::plugin::{self, Family, Role};
use crate::{CoreError, CoreResult};

#[derive(Debug, Clone)]
pub struct Publication {
    pub id: String,
    /// The type its `pulp_type` names (checked when the row is read).
    pub kind: Kind,
    /// The publication type's `pulp_type`.
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

/// Publications as lists see them.
pub static TABLE: Table = Table {
    select: SELECT,
    from: FROM,
    fields: &[
        ("id", "p.id"),
        ("pk", "p.id"),
        ("pulp_type", "p.pulp_type"),
        ("repository", "v.repository_id"),
        ("repository_version", "p.repository_version_id"),
        ("number", "v.number"),
        ("pulp_created", "p.created"),
    ],
    domain: Some("(SELECT pr.domain_id FROM repositories pr WHERE pr.id = v.repository_id)"),
};

impl Publication {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let pulp_type: String = row.try_get(9)?;
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
            kind: plugin::find(Family::Publication, &pulp_type)?,
            pulp_type,
        })
    }

    pub fn kind(&self) -> Kind {
        self.kind
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
        "SELECT {SELECT} FROM {FROM} WHERE p.id = $1 \
         AND EXISTS (SELECT 1 FROM repositories dr WHERE dr.id = v.repository_id AND dr.domain_id = $2)"
    )))
    .bind(id)
    .bind(crate::domain::id().to_string())
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
    let repository = plugin::find(Family::Repository, &p.pulp_type)?;
    let Role::Publication { distribution, .. } = p.kind.role else {
        return Err(CoreError::Internal(format!(
            "{:?} is not a publication type",
            p.kind
        )));
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

/// Records a complete publication in one transaction, so a half-made one is never visible;
/// the distributions of its repository that serve it from now on record that they do.
pub async fn create(
    core: &crate::Core,
    pulp_type: &str,
    repository_version_id: &str,
    manifest: Option<String>,
    checkpoint: bool,
    pass_through: bool,
    files: Vec<PublishedFile>,
) -> CoreResult<Publication> {
    let db = &core.db;
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
    let p = get(db, &id).await?;
    if checkpoint {
        let repo = super::repository::get(db, &p.repository_id).await?;
        if let Some(keep) = repo.retain_checkpoints {
            retain_checkpoints(db, &p.repository_id, keep).await?;
        }
    }
    super::distributed::published(core, &p.repository_id).await?;
    Ok(p)
}

/// A checkpoint's name in URLs: its creation time to the second, `YYYYMMDDTHHMMSSZ` (UTC).
pub fn checkpoint_timestamp(created: &str) -> String {
    let second = created.get(..19).unwrap_or(created);
    format!("{}Z", second.replace(['-', ':'], ""))
}

/// The creation time a checkpoint name stands for (`YYYY-MM-DDTHH:MM:SS`), if it is one.
fn checkpoint_second(name: &str) -> Option<String> {
    let b = name.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' || !digits(0..8) || !digits(9..15) {
        return None;
    }
    let second = format!(
        "{}-{}-{}T{}:{}:{}",
        &name[0..4],
        &name[4..6],
        &name[6..8],
        &name[9..11],
        &name[11..13],
        &name[13..15]
    );
    // A real date and time only (no month 99).
    crate::time::normalize(&format!("{second}Z"))?;
    Some(second)
}

/// A checkpoint publication: its name in URLs (its timestamp), its id, the number of the
/// version it publishes, and when it was made.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub name: String,
    pub publication_id: String,
    pub number: i64,
    pub created: String,
}

/// A repository's checkpoint publications, oldest first.
pub async fn checkpoints(db: &Db, repository_id: &str) -> CoreResult<Vec<Checkpoint>> {
    let rows = sqlx::query(
        "SELECT p.id, p.created, v.number FROM publications p \
         JOIN repository_versions v ON v.id = p.repository_version_id \
         WHERE v.repository_id = $1 AND p.checkpoint = $2 ORDER BY p.created",
    )
    .bind(repository_id)
    .bind(true)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let created: String = r.try_get(1)?;
            Ok(Checkpoint {
                name: checkpoint_timestamp(&created),
                publication_id: r.try_get(0)?,
                number: r.try_get(2)?,
                created,
            })
        })
        .collect()
}

/// The checkpoint a name asks for: the newest made within or before its second. `None` for a
/// name that is none, one in the future, or one before every checkpoint.
pub async fn checkpoint_at(
    db: &Db,
    repository_id: &str,
    name: &str,
) -> CoreResult<Option<Checkpoint>> {
    let Some(second) = checkpoint_second(name) else {
        return Ok(None);
    };
    let now = crate::time::now();
    if second.as_str() > now.get(..19).unwrap_or(&now) {
        return Ok(None);
    }
    let wanted = checkpoint_timestamp(&second);
    Ok(checkpoints(db, repository_id)
        .await?
        .into_iter()
        .rev()
        .find(|c| c.name <= wanted))
}

/// Keeps the checkpoint flag on the newest `keep` checkpoint publications of a repository only
/// (Pulp's `retain_checkpoints`); the others stay as plain publications.
pub async fn retain_checkpoints(db: &Db, repository_id: &str, keep: i64) -> CoreResult<()> {
    let all = checkpoints(db, repository_id).await?;
    let old = all.len().saturating_sub(keep.max(0) as usize);
    for c in all.into_iter().take(old) {
        sqlx::query("UPDATE publications SET checkpoint = $2, updated = $3 WHERE id = $1")
            .bind(c.publication_id)
            .bind(false)
            .bind(crate::time::now())
            .execute(db.pool())
            .await?;
    }
    Ok(())
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

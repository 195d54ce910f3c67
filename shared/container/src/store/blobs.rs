//! Blobs: the ones a repository can serve, pushed ones, mounted ones, and ones whose bytes
//! stay upstream until first pulled.

use depot_core::CoreResult;
use depot_core::db::{Db, Tx};
use sqlx::Row;

use crate::{BLOB_TYPE, Digest, RegistryResult};

use super::*;

/// A blob the repository can serve.
#[derive(Debug, Clone)]
pub struct Blob {
    pub content_id: String,
    pub content_artifact_id: String,
    /// Storage key and size of its bytes; `None` while they are still upstream.
    pub file: Option<(String, i64)>,
}

pub async fn blob(db: &Db, repo: &Repo, digest: &Digest) -> RegistryResult<Option<Blob>> {
    let sql = format!(
        "SELECT b.content_id, a.file, a.size, ca.id FROM container_blobs b \
         JOIN content_artifacts ca ON ca.content_id = b.content_id \
         LEFT JOIN artifacts a ON a.id = ca.artifact_id \
         WHERE b.digest = $3 AND {}",
        visible("b.content_id")
    );
    let row = in_repo(sql, repo)
        .bind(digest.to_string())
        .fetch_optional(db.pool())
        .await?;
    let Some(r) = row else { return Ok(None) };
    let file: Option<String> = r.try_get(1)?;
    let size: Option<i64> = r.try_get(2)?;
    Ok(Some(Blob {
        content_id: r.try_get(0)?,
        content_artifact_id: r.try_get(3)?,
        file: file.zip(size),
    }))
}

/// Records a blob whose bytes are the artifact `artifact_id` (already verified against
/// `digest`) and makes it pending in the repository. Returns the blob's content id.
pub async fn add_blob(
    db: &Db,
    repository_id: &str,
    digest: &Digest,
    artifact_id: &str,
) -> RegistryResult<String> {
    let mut tx = db.begin_write().await?;
    let content_id = blob_row(&mut tx, digest, Some(artifact_id)).await?;
    pend(&mut tx, repository_id, &content_id).await?;
    tx.commit().await?;
    Ok(content_id)
}

/// The blob row for `digest`, made when missing; with `artifact_id`, its bytes are attached
/// when they were not yet. Safe against a concurrent maker of the same blob (parallel pushes,
/// pulls through a cache): the loser takes the winner's row.
pub(super) async fn blob_row(
    tx: &mut Tx,
    digest: &Digest,
    artifact_id: Option<&str>,
) -> CoreResult<String> {
    let key = digest.to_string();
    let domain = depot_core::domain::id().to_string();
    let find = "SELECT content_id FROM container_blobs WHERE digest = $1 AND domain_id = $2";
    let mut existing: Option<String> = sqlx::query_scalar(find)
        .bind(&key)
        .bind(&domain)
        .fetch_optional(&mut **tx)
        .await?;
    if existing.is_none() {
        let id = insert_content(tx, BLOB_TYPE, &key).await?;
        let inserted = sqlx::query(
            "INSERT INTO container_blobs (content_id, digest, domain_id) VALUES ($1, $2, $3) \
             ON CONFLICT (domain_id, digest) DO NOTHING",
        )
        .bind(&id)
        .bind(&key)
        .bind(&domain)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            sqlx::query(
                "INSERT INTO content_artifacts (id, content_id, artifact_id, relative_path) VALUES ($1, $2, $3, $4)",
            )
            .bind(depot_core::new_id())
            .bind(&id)
            .bind(artifact_id)
            .bind(&key)
            .execute(&mut **tx)
            .await?;
            return Ok(id);
        }
        drop_content(tx, &id).await?;
        existing = Some(
            sqlx::query_scalar(find)
                .bind(&key)
                .bind(&domain)
                .fetch_one(&mut **tx)
                .await?,
        );
    }
    let id = existing.unwrap_or_default();
    if let Some(a) = artifact_id {
        // Known (perhaps only on demand): make sure its bytes are attached.
        sqlx::query(
            "UPDATE content_artifacts SET artifact_id = $2 WHERE content_id = $1 AND artifact_id IS NULL",
        )
        .bind(&id)
        .bind(a)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

/// Makes an existing blob pending in another repository (a cross-repository mount).
pub async fn mount_blob(db: &Db, repository_id: &str, content_id: &str) -> RegistryResult<()> {
    let mut tx = db.begin_write().await?;
    pend(&mut tx, repository_id, content_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a blob whose bytes stay upstream until first pulled (an `on_demand` sync or a
/// pull-through): its content has no artifact yet, only where to fetch it. Pending in the
/// repository, like a pushed blob. Returns its content id.
pub async fn add_remote_blob(
    db: &Db,
    repository_id: &str,
    digest: &Digest,
    size: i64,
    remote_id: &str,
    url: &str,
) -> CoreResult<String> {
    let mut tx = db.begin_write().await?;
    let content_id = blob_row(&mut tx, digest, None).await?;
    let ca_id: String =
        sqlx::query_scalar("SELECT id FROM content_artifacts WHERE content_id = $1")
            .bind(&content_id)
            .fetch_one(&mut *tx)
            .await?;
    let sha256 = (digest.algorithm == crate::digest::Algorithm::Sha256).then(|| digest.hex.clone());
    depot_core::models::content::add_remote_source(
        &mut tx,
        &ca_id,
        remote_id,
        url,
        Some(size),
        sha256.as_deref(),
    )
    .await?;
    pend(&mut tx, repository_id, &content_id).await?;
    tx.commit().await?;
    Ok(content_id)
}

/// The content id of a blob of the domain in force whose bytes are stored, in whichever
/// repository it is.
pub async fn stored_blob(db: &Db, digest: &Digest) -> CoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT b.content_id FROM container_blobs b JOIN content_artifacts ca ON ca.content_id = b.content_id \
         WHERE b.digest = $1 AND b.domain_id = $2 AND ca.artifact_id IS NOT NULL",
    )
    .bind(digest.to_string())
    .bind(depot_core::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?)
}

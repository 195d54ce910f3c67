//! Blob uploads in progress.

use depot_core::CoreResult;
use depot_core::db::Db;
use sqlx::Row;

use crate::{RegistryError, RegistryResult};

use super::*;

/// A blob upload in progress: `size` bytes received so far, either as chunks or (after one
/// streamed PATCH) as the artifact `artifact_id`.
#[derive(Debug, Clone)]
pub struct BlobUpload {
    pub id: String,
    pub size: i64,
    pub artifact_id: Option<String>,
}

pub async fn create_upload(db: &Db, repository_id: &str) -> CoreResult<String> {
    let upload = depot_core::models::upload::create(db, 0).await?;
    sqlx::query(
        "INSERT INTO container_uploads (id, repository_id, artifact_id, created) VALUES ($1, $2, NULL, $3)",
    )
    .bind(&upload.id)
    .bind(repository_id)
    .bind(depot_core::time::now())
    .execute(db.pool())
    .await?;
    Ok(upload.id)
}

pub async fn upload(db: &Db, repo: &Repo, id: &str) -> RegistryResult<BlobUpload> {
    let row = sqlx::query(
        "SELECT u.id, u.size, cu.artifact_id FROM container_uploads cu JOIN uploads u ON u.id = cu.id \
         WHERE cu.id = $1 AND cu.repository_id = $2",
    )
    .bind(id)
    .bind(&repo.repository_id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(RegistryError::BlobUploadUnknown)?;
    Ok(BlobUpload {
        id: row.try_get(0)?,
        size: row.try_get(1)?,
        artifact_id: row.try_get(2)?,
    })
}

/// Records the upload's new size, and the artifact when the bytes came in one streamed PATCH.
pub async fn set_upload(db: &Db, id: &str, size: i64, artifact_id: Option<&str>) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE uploads SET size = $2, updated = $3 WHERE id = $1")
        .bind(id)
        .bind(size)
        .bind(depot_core::time::now())
        .execute(&mut *tx)
        .await?;
    if let Some(a) = artifact_id {
        sqlx::query("UPDATE container_uploads SET artifact_id = $2 WHERE id = $1")
            .bind(id)
            .bind(a)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

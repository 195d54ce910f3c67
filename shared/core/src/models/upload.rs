//! Chunked uploads: chunks are stored by offset and assembled on commit.

use schemars::JsonSchema;
use serde::Serialize;
use sqlx::Row;

use super::list::Table;
use crate::db::Db;
use crate::storage::ByteStream;
use crate::{Core, CoreError, CoreResult};

#[derive(Debug, Clone)]
pub struct Upload {
    pub id: String,
    pub size: i64,
    pub created: String,
    pub updated: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UploadChunkResponse {
    pub offset: i64,
    pub size: i64,
}

/// A chunked upload in progress.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UploadResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub size: i64,
    pub completed: Option<String>,
}

/// An upload with the chunks received so far.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UploadDetailResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub size: i64,
    pub completed: Option<String>,
    pub chunks: Vec<UploadChunkResponse>,
}

impl Upload {
    pub fn href(&self) -> String {
        crate::hrefs::UPLOAD.href(&self.id)
    }

    pub fn response(&self) -> UploadResponse {
        UploadResponse {
            pulp_href: self.href(),
            prn: crate::hrefs::UPLOAD.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            size: self.size,
            completed: None,
        }
    }

    pub fn detail(&self, chunks: Vec<UploadChunkResponse>) -> UploadDetailResponse {
        let r = self.response();
        UploadDetailResponse {
            pulp_href: r.pulp_href,
            prn: r.prn,
            pulp_created: r.pulp_created,
            pulp_last_updated: r.pulp_last_updated,
            size: r.size,
            completed: None,
            chunks,
        }
    }
}

pub async fn create(db: &Db, size: i64) -> CoreResult<Upload> {
    if size < 0 {
        return Err(CoreError::field(
            "size",
            "Ensure this value is greater than or equal to 0.",
        ));
    }
    let id = crate::new_id();
    let now = crate::time::now();
    sqlx::query(
        "INSERT INTO uploads (id, size, created, updated, domain_id) VALUES ($1, $2, $3, $3, $4)",
    )
    .bind(&id)
    .bind(size)
    .bind(&now)
    .bind(crate::domain::id().to_string())
    .execute(db.pool())
    .await?;
    get(db, &id).await
}

/// Uploads as lists see them (ids: [`get`] reads each).
pub static TABLE: Table = Table {
    select: "id",
    from: "uploads",
    fields: &[("id", "id"), ("pulp_created", "created")],
    domain: Some("uploads.domain_id"),
};

/// The id of a row of [`TABLE`].
pub fn id_of(row: &sqlx::any::AnyRow) -> CoreResult<String> {
    Ok(row.try_get("id")?)
}

pub async fn get(db: &Db, id: &str) -> CoreResult<Upload> {
    let row = sqlx::query(
        "SELECT id, size, created, updated FROM uploads WHERE id = $1 AND domain_id = $2",
    )
    .bind(id)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Upload"))?;
    Ok(Upload {
        id: row.try_get(0)?,
        size: row.try_get(1)?,
        created: row.try_get(2)?,
        updated: row.try_get(3)?,
    })
}

pub async fn chunks(db: &Db, id: &str) -> CoreResult<Vec<(i64, i64, String)>> {
    let rows = sqlx::query(
        "SELECT start_offset, size, storage_key FROM upload_chunks WHERE upload_id = $1 ORDER BY start_offset",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

/// Records a stored chunk; re-sending the same offset replaces the chunk.
pub async fn put_chunk(
    core: &Core,
    upload: &Upload,
    offset: i64,
    size: i64,
    key: &str,
) -> CoreResult<()> {
    let old: Option<String> = sqlx::query_scalar(
        "SELECT storage_key FROM upload_chunks WHERE upload_id = $1 AND start_offset = $2",
    )
    .bind(&upload.id)
    .bind(offset)
    .fetch_optional(core.db.pool())
    .await?;
    let mut tx = core.db.begin_write().await?;
    sqlx::query("DELETE FROM upload_chunks WHERE upload_id = $1 AND start_offset = $2")
        .bind(&upload.id)
        .bind(offset)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO upload_chunks (upload_id, start_offset, size, storage_key) VALUES ($1, $2, $3, $4)")
        .bind(&upload.id)
        .bind(offset)
        .bind(size)
        .bind(key)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE uploads SET updated = $2 WHERE id = $1")
        .bind(&upload.id)
        .bind(crate::time::now())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if let Some(old) = old.filter(|o| o != key) {
        core.storage.delete(&old).await?;
    }
    Ok(())
}

/// The upload's bytes in order. Fails when the chunks do not cover the declared size exactly.
pub async fn assembled(core: &Core, upload: &Upload) -> CoreResult<Vec<ByteStream>> {
    let chunks = chunks(&core.db, &upload.id).await?;
    let mut expected = 0;
    let mut streams = Vec::new();
    for (offset, size, key) in chunks {
        if offset != expected {
            return Err(CoreError::invalid(
                "The upload is incomplete: chunks are missing or overlap.",
            ));
        }
        expected += size;
        streams.push(core.storage.open(&key, 0, None).await?);
    }
    if expected != upload.size {
        return Err(CoreError::invalid(format!(
            "The upload is incomplete: {expected} of {} bytes received.",
            upload.size
        )));
    }
    Ok(streams)
}

pub async fn delete(core: &Core, id: &str) -> CoreResult<()> {
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT storage_key FROM upload_chunks WHERE upload_id = $1")
            .bind(id)
            .fetch_all(core.db.pool())
            .await?;
    let mut tx = core.db.begin_write().await?;
    sqlx::query("DELETE FROM upload_chunks WHERE upload_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    for k in keys {
        core.storage.delete(&k).await?;
    }
    Ok(())
}

/// Uploads of the domain in force nobody has added to since `before` (a timestamp):
/// abandoned, or cut off by a crash.
pub async fn idle_since(db: &Db, before: &str) -> CoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM uploads WHERE updated < $1 AND domain_id = $2 ORDER BY updated LIMIT 10000",
    )
    .bind(before)
    .bind(crate::domain::id().to_string())
    .fetch_all(db.pool())
    .await?)
}

/// Uploads of every domain not added to since `before` (the sweeper's, for
/// `PULP_UPLOAD_PROTECTION_TIME`), at most `limit`: (id, domain id) each.
pub async fn idle_anywhere(db: &Db, before: &str, limit: i64) -> CoreResult<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, domain_id FROM uploads WHERE updated < $1 ORDER BY updated LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

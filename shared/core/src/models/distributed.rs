//! The publications each distribution served (Pulp's distributed publications). When a
//! distribution moves to another publication (it is pointed elsewhere, or its repository gets
//! a newer one), the one it served stays servable for the retention period: a client midway
//! through the old index still finds the files it names. Only distributions that serve
//! publications of files keep them.

use crate::models::serving::{self, File, Served};
use crate::{Core, CoreResult};

/// Records what distribution `id` serves now, after a change of what it points to; the
/// publications it served before expire after the retention period (at once when it is 0).
pub async fn track(core: &Core, id: &str) -> CoreResult<()> {
    let db = &core.db;
    let Some(publication) = serving::served_publication(db, id).await? else {
        // Pointed at nothing it serves files from: nothing old is served either (Pulp's).
        sqlx::query("DELETE FROM distributed_publications WHERE distribution_id = $1")
            .bind(id)
            .execute(db.pool())
            .await?;
        return Ok(());
    };
    let now = crate::time::now();
    sqlx::query("DELETE FROM distributed_publications WHERE expires_at < $1")
        .bind(&now)
        .execute(db.pool())
        .await?;
    let current: Option<String> = sqlx::query_scalar(
        "SELECT publication_id FROM distributed_publications \
         WHERE distribution_id = $1 AND expires_at IS NULL",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    if current.as_deref() == Some(publication.as_str()) {
        return Ok(());
    }
    let retention = core.settings.distributed_publication_retention;
    if retention == 0 {
        sqlx::query("DELETE FROM distributed_publications WHERE distribution_id = $1")
            .bind(id)
            .execute(db.pool())
            .await?;
    } else {
        let expires = crate::time::format_system_time(
            std::time::SystemTime::now() + std::time::Duration::from_secs(retention),
        );
        sqlx::query(
            "UPDATE distributed_publications SET expires_at = $2 \
             WHERE distribution_id = $1 AND expires_at IS NULL",
        )
        .bind(id)
        .bind(expires)
        .execute(db.pool())
        .await?;
    }
    sqlx::query(
        "INSERT INTO distributed_publications (id, distribution_id, publication_id, created) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(crate::new_id())
    .bind(id)
    .bind(&publication)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records, for every distribution of the new publication's repository that now serves it,
/// that it does.
pub async fn published(core: &Core, repository_id: &str) -> CoreResult<()> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM distributions WHERE repository_id = $1 AND checkpoint = $2",
    )
    .bind(repository_id)
    .bind(false)
    .fetch_all(core.db.pool())
    .await?;
    for id in ids {
        track(core, &id).await?;
    }
    Ok(())
}

/// The file at `path` in a publication distribution `id` served before and still may,
/// newest first.
pub async fn find_file(core: &Core, id: &str, path: &str) -> CoreResult<Option<File>> {
    let db = &core.db;
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT dp.publication_id, v.repository_id, v.number FROM distributed_publications dp \
         JOIN publications p ON p.id = dp.publication_id \
         JOIN repository_versions v ON v.id = p.repository_version_id \
         WHERE dp.distribution_id = $1 AND dp.expires_at >= $2 ORDER BY dp.created DESC",
    )
    .bind(id)
    .bind(crate::time::now())
    .fetch_all(db.pool())
    .await?;
    for (publication_id, repository_id, number) in rows {
        let served = Served {
            repository_id,
            number,
            publication_id: Some(publication_id),
        };
        if let Some(file) = serving::find_file(db, &served, path).await? {
            return Ok(Some(file));
        }
    }
    Ok(None)
}

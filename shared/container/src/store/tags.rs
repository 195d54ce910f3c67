//! Tags: made once and never changed; listed, and looked up by name or by the manifests they
//! point at.

use depot_core::CoreResult;
use depot_core::db::Db;
use depot_core::models::version::present_condition;
use sqlx::{AssertSqlSafe, Row};

use crate::{RegistryResult, TAG_TYPE};

use super::*;

/// The tag `name` on `manifest_id` (tag rows never change, so it is found or made).
pub async fn tag(db: &Db, name: &str, manifest_id: &str) -> CoreResult<String> {
    let mut tx = db.begin_write().await?;
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT content_id FROM container_tags WHERE name = $1 AND manifest_id = $2",
    )
    .bind(name)
    .bind(manifest_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = insert_content(&mut tx, TAG_TYPE, name).await?;
    let inserted = sqlx::query(
        "INSERT INTO container_tags (content_id, name, manifest_id) VALUES ($1, $2, $3) \
         ON CONFLICT (name, manifest_id) DO NOTHING",
    )
    .bind(&id)
    .bind(name)
    .bind(manifest_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // Made meanwhile for another repository: use that row.
        drop_content(&mut tx, &id).await?;
        let id = sqlx::query_scalar(
            "SELECT content_id FROM container_tags WHERE name = $1 AND manifest_id = $2",
        )
        .bind(name)
        .bind(manifest_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(id);
    }
    tx.commit().await?;
    Ok(id)
}

/// Tag names in the repository's latest version, sorted, after `last`, at most `n`.
pub async fn tags(
    db: &Db,
    repo: &Repo,
    last: Option<&str>,
    n: Option<i64>,
) -> RegistryResult<Vec<String>> {
    let sql = format!(
        "SELECT t.name FROM container_tags t JOIN repository_contents rc ON rc.content_id = t.content_id \
         WHERE {} AND t.name > $3 ORDER BY t.name LIMIT $4",
        present_condition(1, 2)
    );
    let rows = in_repo(sql, repo)
        .bind(last.unwrap_or("").to_string())
        .bind(n.unwrap_or(i64::MAX))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Tags in the repository's latest version that point at any of `manifest_ids`.
pub async fn tags_of(
    db: &Db,
    repository_id: &str,
    manifest_ids: &[String],
) -> CoreResult<Vec<String>> {
    let latest: i64 = sqlx::query_scalar("SELECT latest_number FROM repositories WHERE id = $1")
        .bind(repository_id)
        .fetch_one(db.pool())
        .await?;
    let mut out = Vec::new();
    for chunk in manifest_ids.chunks(400) {
        let sql = format!(
            "SELECT t.content_id FROM container_tags t JOIN repository_contents rc ON rc.content_id = t.content_id \
             WHERE {} AND t.manifest_id IN ({})",
            present_condition(1, 2),
            depot_core::db::placeholders(3, chunk.len())
        );
        let mut q = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(repository_id)
            .bind(latest);
        for id in chunk {
            q = q.bind(id);
        }
        out.extend(q.fetch_all(db.pool()).await?);
    }
    Ok(out)
}

/// The content id of tag `name` in the repository's latest version.
pub async fn tag_id(db: &Db, repo: &Repo, name: &str) -> CoreResult<Option<String>> {
    let sql = format!(
        "SELECT t.content_id FROM container_tags t JOIN repository_contents rc ON rc.content_id = t.content_id \
         WHERE t.name = $3 AND {}",
        present_condition(1, 2)
    );
    let row = in_repo(sql, repo)
        .bind(name.to_string())
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Tags of a repository version, all or those named.
pub async fn tags_in_version(
    db: &Db,
    repository_id: &str,
    number: i64,
    names: Option<&[String]>,
) -> CoreResult<Vec<String>> {
    let mut sql = format!(
        "SELECT t.content_id FROM container_tags t JOIN repository_contents rc ON rc.content_id = t.content_id \
         WHERE {}",
        present_condition(1, 2)
    );
    if let Some(names) = names {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        sql.push_str(&format!(
            " AND t.name IN ({})",
            depot_core::db::placeholders(3, names.len())
        ));
    }
    let mut q = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(repository_id)
        .bind(number);
    for n in names.unwrap_or_default() {
        q = q.bind(n);
    }
    Ok(q.fetch_all(db.pool()).await?)
}

//! Orphans: content no repository version holds and no other content needs, and artifacts
//! nothing uses. What "needed" means beyond repository versions each plugin says
//! ([`crate::plugin::Plugin::content_in_use`]).

use sqlx::{AssertSqlSafe, Row};

use crate::CoreResult;
use crate::db::Db;

/// The condition "content `c.id` is unused", for statements over `contents c`.
pub(crate) fn unused() -> String {
    let mut conditions = vec![
        "NOT EXISTS (SELECT 1 FROM repository_contents rc WHERE rc.content_id = c.id)".to_string(),
    ];
    for plugin in crate::plugin::installed() {
        for in_use in plugin.content_in_use {
            conditions.push(format!("NOT {in_use}"));
        }
    }
    conditions.join(" AND ")
}

/// Unused content created at or before `cutoff`.
pub async fn content(db: &Db, cutoff: &str) -> CoreResult<Vec<String>> {
    let sql = format!(
        "SELECT c.id FROM contents c WHERE c.created <= $1 AND {}",
        unused()
    );
    Ok(sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(cutoff)
        .fetch_all(db.pool())
        .await?)
}

/// Deletes those of `ids` that are still unused, in one transaction: the check is made again
/// inside it, so content a concurrent task just started using stays.
pub async fn delete_content(db: &Db, ids: &[String]) -> CoreResult<()> {
    let sql = format!(
        "DELETE FROM contents WHERE id = $1 AND EXISTS (SELECT 1 FROM contents c WHERE c.id = $1 AND {})",
        unused()
    );
    let mut tx = db.begin_write().await?;
    for id in ids {
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Artifacts created at or before `cutoff` that no content and no publication uses:
/// (id, storage key).
/// The artifacts of content units `ids` (a cleanup of named units takes only theirs).
pub async fn artifacts_of_content(db: &Db, ids: &[String]) -> CoreResult<Vec<String>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT DISTINCT artifact_id FROM content_artifacts WHERE artifact_id IS NOT NULL \
             AND content_id IN ({})",
            crate::db::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(db.pool()).await? {
            out.push(r.try_get(0)?);
        }
    }
    Ok(out)
}

pub async fn artifacts(db: &Db, cutoff: &str) -> CoreResult<Vec<(String, String)>> {
    let sql = format!(
        "SELECT id, file FROM artifacts a WHERE a.created <= $1 AND {}",
        super::artifact::unused()
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(cutoff)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

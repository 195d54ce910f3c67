//! Task: delete content that no repository version holds and artifacts that nothing uses, once
//! they are older than the protection time.
//!
//! Content is still in use when other content needs it: a container blob that a manifest names,
//! a manifest that an index lists or a tag points at. Such units go only once their users went,
//! so the cleanup runs in passes (tags, then indexes, then manifests, then blobs). Pushed
//! container content that is pending in a repository is in use too.

use depot_core::tasks::{ORPHAN_CLEANUP_HANDLER, TaskContext, TaskFuture, TaskRegistry};
use sqlx::{AssertSqlSafe, Row};

/// Content `c.id` is in no repository version, pending nowhere, and needed by no other content.
const UNUSED: &str = "NOT EXISTS (SELECT 1 FROM repository_contents rc WHERE rc.content_id = c.id) \
     AND NOT EXISTS (SELECT 1 FROM container_pending p WHERE p.content_id = c.id) \
     AND NOT EXISTS (SELECT 1 FROM container_manifest_blobs mb WHERE mb.blob_id = c.id) \
     AND NOT EXISTS (SELECT 1 FROM container_manifests m WHERE m.config_blob_id = c.id) \
     AND NOT EXISTS (SELECT 1 FROM container_listed_manifests l WHERE l.manifest_id = c.id) \
     AND NOT EXISTS (SELECT 1 FROM container_tags t WHERE t.manifest_id = c.id)";

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(ORPHAN_CLEANUP_HANDLER, cleanup);
}

fn cleanup(ctx: TaskContext) -> TaskFuture {
    Box::pin(async move {
        let db = &ctx.core.db;
        let minutes = ctx.task.args["orphan_protection_time"]
            .as_u64()
            .unwrap_or(ctx.core.settings.orphan_protection_time);
        let cutoff = depot_core::time::ago(minutes.saturating_mul(60));
        let only: Option<Vec<String>> = ctx.task.args["content_ids"].as_array().map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        });

        ctx.progress
            .start("clean-up.content", "Clean up orphan Content", None)
            .await;
        let mut total = 0;
        // Each pass frees what the previous one's deletions stopped using; four passes cover
        // tag -> index -> manifest -> blob.
        for _ in 0..4 {
            let sql = format!("SELECT c.id FROM contents c WHERE c.created <= $1 AND {UNUSED}");
            let orphans: Vec<String> = sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(&cutoff)
                .fetch_all(db.pool())
                .await?;
            let orphans: Vec<String> = match &only {
                Some(ids) => orphans.into_iter().filter(|id| ids.contains(id)).collect(),
                None => orphans,
            };
            if orphans.is_empty() {
                break;
            }
            total += orphans.len() as i64;
            ctx.progress.set_total("clean-up.content", total).await;
            for chunk in orphans.chunks(200) {
                let mut tx = db.begin_write().await?;
                for id in chunk {
                    // Re-check inside the transaction: a concurrent task may have just used it.
                    let sql = format!(
                        "DELETE FROM contents WHERE id = $1 AND {}",
                        UNUSED.replace("c.id", "$1")
                    );
                    sqlx::query(AssertSqlSafe(sql))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                ctx.progress
                    .advance("clean-up.content", chunk.len() as i64)
                    .await;
            }
        }
        ctx.progress.complete("clean-up.content").await;

        // A whole clean-up also takes uploads nobody has added to within the protection time
        // (at least ten minutes, so that none in progress goes), and files a killed process
        // staged.
        if only.is_none() {
            let idle = std::time::Duration::from_secs(minutes.saturating_mul(60).max(600));
            let before = depot_core::time::ago(idle.as_secs());
            for id in depot_core::models::upload::idle_since(db, &before).await? {
                depot_core::models::upload::delete(&ctx.core, &id).await?;
            }
            ctx.core.storage.sweep_staged(idle).await?;
        }

        ctx.progress
            .start("clean-up.artifacts", "Clean up orphan Artifacts", None)
            .await;
        let rows = sqlx::query(
            "SELECT id, file FROM artifacts a WHERE a.created <= $1 \
             AND NOT EXISTS (SELECT 1 FROM content_artifacts ca WHERE ca.artifact_id = a.id) \
             AND NOT EXISTS (SELECT 1 FROM published_files pf WHERE pf.artifact_id = a.id)",
        )
        .bind(&cutoff)
        .fetch_all(db.pool())
        .await?;
        ctx.progress
            .set_total("clean-up.artifacts", rows.len() as i64)
            .await;
        for r in rows {
            let id: String = r.try_get(0)?;
            let file: String = r.try_get(1)?;
            if depot_core::models::artifact::delete_if_unused(db, &id).await? {
                ctx.core.storage.delete(&file).await?;
            }
            ctx.progress.advance("clean-up.artifacts", 1).await;
        }
        ctx.progress.complete("clean-up.artifacts").await;
        Ok(None)
    })
}

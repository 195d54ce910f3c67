//! Task: delete content that no repository version holds and artifacts that nothing uses, once
//! they are older than the protection time.
//!
//! Content is still in use when other content needs it (each plugin says when: a container blob
//! that a manifest names, say). Such units go only once their users went, so the cleanup runs in
//! passes.

use depot_core::models::orphans;
use depot_core::tasks::args::{OrphanCleanup, ReclaimSpace};
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(cleanup);
    reg.register(reclaim);
}

/// Pulp's `reclaim_space` (`depot_core::reclaim`): also frees disk, so it runs here.
fn reclaim(ctx: TaskContext, args: ReclaimSpace) -> TaskFuture {
    Box::pin(async move {
        depot_core::reclaim::run(&ctx.core, &ctx.progress, &args.repositories, &args.keep).await?;
        Ok(None)
    })
}

fn cleanup(ctx: TaskContext, args: OrphanCleanup) -> TaskFuture {
    Box::pin(async move {
        let db = &ctx.core.db;
        let minutes = args
            .orphan_protection_time
            .unwrap_or(ctx.core.settings.orphan_protection_time);
        let cutoff = depot_core::time::ago(minutes.saturating_mul(60));
        let only = args.content_ids;
        // A cleanup of named units takes their artifacts only (found before the units go).
        let only_artifacts = match &only {
            Some(ids) => Some(orphans::artifacts_of_content(db, ids).await?),
            None => None,
        };

        ctx.progress
            .start("clean-up.content", "Clean up orphan Content", None)
            .await;
        let mut total = 0;
        // Each pass frees what the previous one's deletions stopped using; four passes cover
        // tag -> index -> manifest -> blob.
        for _ in 0..4 {
            let orphans = orphans::content(db, &cutoff).await?;
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
                orphans::delete_content(db, chunk).await?;
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
        let mut rows = orphans::artifacts(db, &cutoff).await?;
        if let Some(keep) = &only_artifacts {
            rows.retain(|(id, _)| keep.contains(id));
        }
        ctx.progress
            .set_total("clean-up.artifacts", rows.len() as i64)
            .await;
        for (id, file) in rows {
            if depot_core::models::artifact::delete_if_unused(db, &id).await? {
                ctx.core.storage.delete(&file).await?;
            }
            ctx.progress.advance("clean-up.artifacts", 1).await;
        }
        ctx.progress.complete("clean-up.artifacts").await;
        Ok(None)
    })
}

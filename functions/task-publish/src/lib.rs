//! Task: publish a file repository version: every file under its relative path plus a generated
//! `PULP_MANIFEST` (`relative_path,sha256,size` per line).

use bytes::Bytes;
use depot_core::artifacts::ingest_bytes;
use depot_core::models::publication::{self, PublishedFile};
use depot_core::models::version;
use depot_core::tasks::{PUBLISH_HANDLER, TaskContext, TaskFuture, TaskRegistry};
use serde::Deserialize;
use sqlx::{AssertSqlSafe, Row};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(PUBLISH_HANDLER, publish);
}

#[derive(Debug, Deserialize)]
struct Args {
    repository_version_id: String,
    manifest: String,
    checkpoint: bool,
}

fn publish(ctx: TaskContext) -> TaskFuture {
    Box::pin(async move {
        let args: Args = ctx.args()?;
        let db = &ctx.core.db;
        let v = version::get_by_id(db, &args.repository_version_id).await?;
        ctx.progress
            .start("publishing.content", "Publishing files", None)
            .await;
        let sql = format!(
            "SELECT ca.id, fc.relative_path, fc.sha256, COALESCE(fc.size, a.size) FROM repository_contents rc \
             JOIN file_contents fc ON fc.content_id = rc.content_id \
             JOIN content_artifacts ca ON ca.content_id = rc.content_id \
             LEFT JOIN artifacts a ON a.id = ca.artifact_id WHERE {} ORDER BY fc.relative_path",
            version::present_condition(1, 2)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(&v.repository_id)
            .bind(v.number)
            .fetch_all(db.pool())
            .await?;
        let mut manifest = String::new();
        let mut files = Vec::with_capacity(rows.len() + 1);
        for r in &rows {
            let path: String = r.try_get(1)?;
            let sha: String = r.try_get(2)?;
            let size: Option<i64> = r.try_get(3)?;
            manifest.push_str(&format!("{path},{sha},{}\n", size.unwrap_or(0)));
            files.push(PublishedFile {
                relative_path: path,
                content_artifact_id: Some(r.try_get(0)?),
                artifact_id: None,
            });
        }
        ctx.progress
            .set_total("publishing.content", rows.len() as i64)
            .await;
        ctx.progress
            .advance("publishing.content", rows.len() as i64)
            .await;
        let manifest_artifact = ingest_bytes(&ctx.core, Bytes::from(manifest)).await?;
        files.retain(|f| f.relative_path != args.manifest);
        files.push(PublishedFile {
            relative_path: args.manifest.clone(),
            content_artifact_id: None,
            artifact_id: Some(manifest_artifact.id),
        });
        let p = publication::create(db, &v.id, Some(args.manifest), args.checkpoint, files).await?;
        ctx.progress.complete("publishing.content").await;
        ctx.created(p.href());
        Ok(Some(
            serde_json::to_value(publication::response(db, &p).await?).unwrap_or_default(),
        ))
    })
}

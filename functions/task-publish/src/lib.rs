//! Task: publish a repository version. A file publication holds every file under its relative
//! path plus a generated `PULP_MANIFEST` (`relative_path,sha256,size` per line); a python one
//! only fixes the version its index serves.

use depot_core::models::publication;
use depot_core::models::version;
use depot_core::tasks::{PUBLISH_HANDLER, TaskContext, TaskFuture, TaskRegistry};
use serde::Deserialize;

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(PUBLISH_HANDLER, publish);
}

#[derive(Debug, Deserialize)]
struct Args {
    repository_version_id: String,
    manifest: String,
    checkpoint: bool,
    #[serde(default)]
    pulp_type: Option<String>,
}

fn publish(ctx: TaskContext) -> TaskFuture {
    Box::pin(async move {
        let args: Args = ctx.args()?;
        let db = &ctx.core.db;
        let v = version::get_by_id(db, &args.repository_version_id).await?;
        ctx.progress
            .start("publishing.content", "Publishing files", None)
            .await;
        let p = match args.pulp_type.as_deref() {
            Some("python.python") => {
                publication::create(db, "python.python", &v.id, None, false, false, Vec::new())
                    .await?
            }
            _ => publication::publish(&ctx.core, &v, &args.manifest, args.checkpoint, None).await?,
        };
        ctx.progress.complete("publishing.content").await;
        ctx.created(p.href());
        Ok(Some(
            serde_json::to_value(publication::response(db, &p).await?).unwrap_or_default(),
        ))
    })
}

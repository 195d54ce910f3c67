//! Task: publish a repository version. A file publication holds every file under its relative
//! path plus a generated `PULP_MANIFEST` (`relative_path,sha256,size` per line); a python one
//! only fixes the version its index serves.

use depot_core::CoreResult;
use depot_core::models::publication::{self, Publication};
use depot_core::models::version;
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(publish_files);
    reg.register(publish_python);
}

fn publish_files(ctx: TaskContext, args: depot_file::Publish) -> TaskFuture {
    Box::pin(async move {
        let core = ctx.core.clone();
        let p = with_progress(&ctx, async move {
            let v = version::get_by_id(&core.db, &args.repository_version_id).await?;
            depot_file::publish::publish(&core, &v, &args.manifest, args.checkpoint, None).await
        })
        .await?;
        result(&ctx, &p).await
    })
}

fn publish_python(ctx: TaskContext, args: depot_python::plugin::Publish) -> TaskFuture {
    Box::pin(async move {
        let core = ctx.core.clone();
        let p = with_progress(&ctx, async move {
            let v = version::get_by_id(&core.db, &args.repository_version_id).await?;
            let python = depot_python::REPOSITORY_TYPE;
            publication::create(&core, python, &v.id, None, false, false, Vec::new()).await
        })
        .await?;
        result(&ctx, &p).await
    })
}

/// Runs `work` under the progress report clients watch.
async fn with_progress(
    ctx: &TaskContext,
    work: impl Future<Output = CoreResult<Publication>>,
) -> CoreResult<Publication> {
    ctx.progress
        .start("publishing.content", "Publishing files", None)
        .await;
    let p = work.await?;
    ctx.progress.complete("publishing.content").await;
    Ok(p)
}

/// The task's result: the publication, recorded as created.
async fn result(ctx: &TaskContext, p: &Publication) -> CoreResult<Option<serde_json::Value>> {
    ctx.made(p.kind, &p.id).await?;
    let response = publication::response(&ctx.core.db, p).await?;
    Ok(Some(serde_json::to_value(response).unwrap_or_default()))
}

//! Tasks that turn uploaded bytes into content: committing a chunked upload into an artifact,
//! and creating file content or python packages from an artifact, upload or URL (optionally
//! adding it to a repository).

use depot_core::artifacts::{Expected, from_upload, ingest};
use depot_core::download;
use depot_core::models::artifact::{self, Artifact};
use depot_core::models::remote;
use depot_core::models::version::{self, Change, Removal};
use depot_core::tasks::args::{ContentCreate, UploadCommit};
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};
use depot_core::{CoreError, CoreResult};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(commit);
    reg.register(create_file);
    reg.register(create_package);
}

fn commit(ctx: TaskContext, args: UploadCommit) -> TaskFuture {
    Box::pin(async move {
        let a = from_upload(&ctx.core, &args.upload_id, args.sha256.as_deref()).await?;
        ctx.created(a.href());
        Ok(Some(serde_json::to_value(a.response()).unwrap_or_default()))
    })
}

/// The artifact the task's bytes are: the one named, the upload's, or the download's.
async fn artifact_of(ctx: &TaskContext, args: &ContentCreate) -> CoreResult<Artifact> {
    match (&args.artifact_id, &args.upload_id, &args.file_url) {
        (Some(id), _, _) => artifact::get(&ctx.core.db, id).await,
        (None, Some(upload), _) => from_upload(&ctx.core, upload, None).await,
        (None, None, Some(url)) => {
            let remote = remote::one_off(&ctx.core.db, url, args.downloader_config.as_ref())?;
            let resp = download::get(&ctx.core, &remote, url).await?;
            ingest(&ctx.core, download::body_stream(resp), &Expected::default()).await
        }
        (None, None, None) => Err(CoreError::invalid("No file, upload or artifact was given.")),
    }
}

/// Adds the new unit to the repository the task names, if any.
async fn add_to_repository(
    ctx: &TaskContext,
    args: &ContentCreate,
    content_id: &str,
) -> CoreResult<()> {
    if let Some(repo) = &args.repository_id {
        let change = Change {
            base_number: None,
            base_repository_id: None,
            remove: Removal::Some(Vec::new()),
            add: vec![content_id.to_string()],
            overwrite: args.overwrite,
        };
        if let Some(v) = version::create_next(&ctx.core.db, repo, change).await? {
            ctx.new_version(&v).await?;
        }
    }
    Ok(())
}

fn create_file(ctx: TaskContext, depot_file::Create(args): depot_file::Create) -> TaskFuture {
    Box::pin(async move {
        let a = artifact_of(&ctx, &args).await?;
        let db = &ctx.core.db;
        let c = depot_file::content::get_or_create_with_artifact(
            db,
            &args.relative_path,
            &a,
            &args.pulp_labels,
        )
        .await?;
        // Pulp lists the new version before the content.
        add_to_repository(&ctx, &args, &c.id).await?;
        ctx.created(c.href());
        let c = depot_file::content::get(db, &c.id).await?;
        Ok(Some(serde_json::to_value(c.response()).unwrap_or_default()))
    })
}

fn create_package(
    ctx: TaskContext,
    depot_python::plugin::Create(args): depot_python::plugin::Create,
) -> TaskFuture {
    Box::pin(async move {
        let a = artifact_of(&ctx, &args).await?;
        let id = depot_python::ingest::artifact(&ctx.core, &a, &args.relative_path).await?;
        add_to_repository(&ctx, &args, &id).await?;
        ctx.created(depot_python::plugin::PACKAGE.href(&id));
        Ok(None)
    })
}

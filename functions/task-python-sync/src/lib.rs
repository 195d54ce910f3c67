//! Task: sync a python repository from another package index. The projects are the remote's
//! `includes` (or, with none, every project the index lists); of each, the files its filters
//! take are brought in as its policy says. The new version adds them (replacing files of the
//! same name); with `mirror` it holds exactly them.

use depot_core::models::version::{self, Change};
use depot_core::models::{remote, repository};
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};
use depot_python::filters::Filters;
use depot_python::plugin::Sync;
use depot_python::{REPOSITORY_TYPE, upstream};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(sync);
}

fn sync(ctx: TaskContext, Sync(args): Sync) -> TaskFuture {
    Box::pin(async move {
        let core = &ctx.core;
        let repo = repository::get_of_type(&core.db, &args.repository_id, REPOSITORY_TYPE).await?;
        let remote = remote::get(&core.db, &args.remote_id).await?;
        let filters = Filters::of(&remote)?;
        let mut projects: Vec<String> = if filters.includes.is_empty() {
            upstream::projects(core, &remote).await?
        } else {
            filters.includes.iter().map(|s| s.name.clone()).collect()
        };
        projects.sort();
        projects.dedup();

        let metadata = "sync.fetching.project";
        ctx.progress
            .start(
                metadata,
                "Fetching Project Metadata",
                Some(projects.len() as i64),
            )
            .await;
        let mut files = Vec::new();
        for p in &projects {
            files.extend(upstream::wanted_files(core, &remote, &filters, p).await?);
            ctx.progress.advance(metadata, 1).await;
        }
        ctx.progress.complete(metadata).await;

        let downloading = "sync.downloading.artifacts";
        ctx.progress
            .start(
                downloading,
                "Downloading Artifacts",
                Some(files.len() as i64),
            )
            .await;
        let add =
            upstream::bring_in(core, &remote, files, Some((&ctx.progress, downloading))).await?;
        ctx.progress.complete(downloading).await;

        let change = Change::synced(add, args.mirror);
        if let Some(v) = version::create_next(&core.db, &repo.id, change).await? {
            ctx.new_version(&v).await?;
        }
        Ok(None)
    })
}

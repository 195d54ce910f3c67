//! Task: sync a container repository from a remote registry. Reads the upstream repository's
//! tags (all pages), keeps those the remote's `includes`/`excludes` let through, and brings
//! each tagged image in (indexes with every manifest they list; layers deferred for
//! `on_demand`). The new version gets the tags, replacing moved ones; with `mirror` it holds
//! exactly what this sync found.

use depot_container::REPOSITORY_TYPE;
use depot_container::fetch::Fetcher;
use depot_container::plugin::Sync;
use depot_container::store::{self, Repo};
use depot_container::upstream::{Upstream, included};
use depot_core::models::remote;
use depot_core::models::repository;
use depot_core::models::version::Change;
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(sync);
}

fn sync(ctx: TaskContext, Sync(args): Sync) -> TaskFuture {
    Box::pin(async move {
        let core = &ctx.core;
        let repo = repository::get_of_type(&core.db, &args.repository_id, REPOSITORY_TYPE).await?;
        let remote = remote::get(&core.db, &args.remote_id).await?;
        let upstream = Upstream::for_remote(core, &remote)?;

        let list = "sync.downloading.tag_list";
        ctx.progress
            .start(list, "Downloading tag list", Some(1))
            .await;
        let includes = remote.strings("includes").unwrap_or_default();
        let excludes = remote.strings("excludes").unwrap_or_default();
        let tags: Vec<String> = upstream
            .tags()
            .await?
            .into_iter()
            .filter(|t| included(t, &includes, &excludes))
            .collect();
        ctx.progress.advance(list, 1).await;
        ctx.progress.complete(list).await;

        let processing = "sync.processing.manifest";
        ctx.progress
            .start(processing, "Processing Manifests", Some(tags.len() as i64))
            .await;
        let fetcher = Fetcher {
            core,
            remote: &remote,
            upstream: &upstream,
            repo: Repo::of(&repo),
        };
        let mut add = Vec::new();
        for tag in &tags {
            let image = fetcher.image(tag).await?;
            add.push(store::tag(&core.db, tag, &image.manifest_id).await?);
            add.extend(image.content_ids);
            ctx.progress.advance(processing, 1).await;
        }
        ctx.progress.complete(processing).await;

        let change = Change::synced(add, args.mirror);
        let created = store::new_version(&core.db, &repo.id, change).await?;
        if let Some(v) = &created {
            ctx.new_version(v).await?;
        }
        Ok(None)
    })
}

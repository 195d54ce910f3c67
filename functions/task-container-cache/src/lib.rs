//! Task: store an image a pull-through cache has just served from upstream. The registry answers
//! the client with the upstream bytes at once and dispatches this task, which brings the image
//! in (its layers stay upstream until first pulled, then are saved) and, for a tag, makes a
//! version holding the tag, replacing the tag's previous manifest.

use depot_container::Digest;
use depot_container::fetch::Fetcher;
use depot_container::plugin::Cache;
use depot_container::store::{self, Repo};
use depot_container::upstream::Upstream;
use depot_core::models::version::Change;
use depot_core::models::{remote, repository};
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(cache);
}

fn cache(ctx: TaskContext, args: Cache) -> TaskFuture {
    Box::pin(async move {
        let core = &ctx.core;
        let repo = repository::get(&core.db, &args.repository_id).await?;
        let remote = remote::get(&core.db, &args.remote_id).await?;
        let upstream = Upstream::for_remote(core, &remote)?;
        let fetcher = Fetcher {
            core,
            remote: &remote,
            upstream: &upstream,
            repo: Repo::of(&repo),
        };
        let image = fetcher.image(&args.reference).await?;
        let mut add = image.content_ids;
        if !Digest::is_digest_like(&args.reference) {
            add.push(store::tag(&core.db, &args.reference, &image.manifest_id).await?);
        }
        let created = store::new_version(&core.db, &repo.id, Change::add(add)).await?;
        if let Some(v) = &created {
            ctx.new_version(v).await?;
        }
        Ok(None)
    })
}

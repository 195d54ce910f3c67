//! Task: add to a container repository, either a tag on a manifest (a tag push, the `tag/`
//! action) or content units (the `add/` action). The new version holds the tag (replacing any
//! tag of that name) or the units, with every manifest and blob they need; added content stops
//! being pending.

use depot_container::plugin::Add;
use depot_container::store;
use depot_core::models::version::Change;
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(add);
}

fn add(ctx: TaskContext, args: Add) -> TaskFuture {
    Box::pin(async move {
        let db = &ctx.core.db;
        let mut add = store::expand(db, &args.content_ids).await?;
        if let (Some(tag), Some(manifest_id)) = (&args.tag, &args.manifest_id) {
            add.push(store::tag(db, tag, manifest_id).await?);
            add.extend(store::closure(db, manifest_id).await?);
        }
        let created = store::new_version(db, &args.repository_id, Change::add(add)).await?;
        if let Some(v) = &created {
            ctx.new_version(v).await?;
        }
        Ok(None)
    })
}

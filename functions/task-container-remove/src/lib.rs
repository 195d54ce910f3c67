//! Task: remove content from a container repository (a manifest deleted by digest takes the
//! tags that point at it along). The new version lacks it, and it is no longer pending.

use depot_container::{REMOVE_HANDLER, store};
use depot_core::models::version::{self, Change, Removal};
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};
use serde::Deserialize;

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(REMOVE_HANDLER, remove);
}

#[derive(Debug, Deserialize)]
struct Args {
    repository_id: String,
    content_ids: Vec<String>,
}

fn remove(ctx: TaskContext) -> TaskFuture {
    Box::pin(async move {
        let args: Args = ctx.args()?;
        let db = &ctx.core.db;
        let mut ids = args.content_ids.clone();
        ids.extend(store::tags_of(db, &args.repository_id, &args.content_ids).await?);
        store::unpend(db, &args.repository_id, &ids).await?;
        let change = Change {
            base_number: None,
            remove: Removal::Some(ids),
            add: Vec::new(),
            overwrite: true,
        };
        let created = version::create_next(db, &args.repository_id, change).await?;
        // No created_resources yet: version hrefs of container repositories come with their
        // REST resources.
        Ok(created.map(|v| serde_json::json!({"number": v.number})))
    })
}

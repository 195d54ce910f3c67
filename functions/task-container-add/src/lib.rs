//! Task: tag a manifest in a container repository. The new version holds the tag (replacing
//! any tag of that name), the manifest, the manifests it lists and all their blobs; the pushed
//! content stops being pending.

use depot_container::{ADD_HANDLER, store};
use depot_core::models::version::{self, Change, Removal};
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};
use serde::Deserialize;

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(ADD_HANDLER, add);
}

#[derive(Debug, Deserialize)]
struct Args {
    repository_id: String,
    tag: String,
    manifest_id: String,
}

fn add(ctx: TaskContext) -> TaskFuture {
    Box::pin(async move {
        let args: Args = ctx.args()?;
        let db = &ctx.core.db;
        let tag_id = store::tag(db, &args.tag, &args.manifest_id).await?;
        let mut add = store::closure(db, &args.manifest_id).await?;
        add.push(tag_id);
        let change = Change {
            base_number: None,
            remove: Removal::Some(Vec::new()),
            add: add.clone(),
            overwrite: true,
        };
        let created = version::create_next(db, &args.repository_id, change).await?;
        store::unpend(db, &args.repository_id, &add).await?;
        // No created_resources yet: version hrefs of container repositories come with their
        // REST resources.
        Ok(created.map(|v| serde_json::json!({"number": v.number})))
    })
}

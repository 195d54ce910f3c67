//! Task: add and remove content in a repository, making one new version (or none when nothing
//! changes).

use depot_core::models::version::{self, Change, Removal};
use depot_core::tasks::args::RepositoryModify;
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(modify);
}

fn modify(ctx: TaskContext, args: RepositoryModify) -> TaskFuture {
    Box::pin(async move {
        let change = Change {
            base_number: args.base_number,
            base_repository_id: args.base_repository_id,
            remove: if args.remove_all {
                Removal::All
            } else {
                Removal::Some(args.remove)
            },
            add: args.add,
            overwrite: args.overwrite,
        };
        match version::create_next(&ctx.core.db, &args.repository_id, change).await? {
            Some(v) => {
                ctx.new_version(&v).await?;
                Ok(Some(
                    serde_json::to_value(version::response(&ctx.core.db, &v).await?)
                        .unwrap_or_default(),
                ))
            }
            None => Ok(None),
        }
    })
}

//! Task: add and remove content in a repository, making one new version (or none when nothing
//! changes).

use depot_core::models::version::{self, Change, Removal};
use depot_core::tasks::{MODIFY_HANDLER, TaskContext, TaskFuture, TaskRegistry};
use serde::Deserialize;

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(MODIFY_HANDLER, modify);
}

#[derive(Debug, Deserialize)]
struct Args {
    repository_id: String,
    add: Vec<String>,
    remove: Vec<String>,
    remove_all: bool,
    base_number: Option<i64>,
    overwrite: bool,
}

fn modify(ctx: TaskContext) -> TaskFuture {
    Box::pin(async move {
        let args: Args = ctx.args()?;
        let change = Change {
            base_number: args.base_number,
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
                ctx.created(v.href());
                Ok(Some(
                    serde_json::to_value(version::response(&ctx.core.db, &v).await?)
                        .unwrap_or_default(),
                ))
            }
            None => Ok(None),
        }
    })
}

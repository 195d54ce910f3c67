//! Task: repair stored files (Pulp's `repair_version` and `repair_all_artifacts`). The checks and
//! the fetching are `depot_core::repair`'s; this crate is the function that runs them.

use depot_core::repair;
use depot_core::tasks::args::Repair;
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(run);
}

fn run(ctx: TaskContext, args: Repair) -> TaskFuture {
    Box::pin(async move {
        repair::run(&ctx.core, &ctx.progress, args.scope, args.verify_checksums).await?;
        Ok(None)
    })
}

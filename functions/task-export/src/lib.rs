//! Tasks: Pulp's `pulp_export` (repositories in Pulp's export format) and its filesystem
//! exports (a publication's or version's files). The format and the writing are
//! `depot_core::importexport`'s; this crate is the function that runs them.

use depot_core::importexport::{filesystem, pulp_export};
use depot_core::tasks::args::{FilesystemExport, PulpExport};
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(run_pulp);
    reg.register(run_filesystem);
}

fn run_pulp(ctx: TaskContext, args: PulpExport) -> TaskFuture {
    Box::pin(async move {
        pulp_export::run(&ctx, args).await?;
        Ok(None)
    })
}

fn run_filesystem(ctx: TaskContext, args: FilesystemExport) -> TaskFuture {
    Box::pin(async move {
        filesystem::run(&ctx, args).await?;
        Ok(None)
    })
}

//! Tasks: Pulp's `pulp_import` (artifacts, then one task per repository in the import's task
//! group) and `import_repository_version`. The reading is `depot_core::importexport`'s; this
//! crate is the function that runs it.

use depot_core::importexport::pulp_import;
use depot_core::tasks::args::{PulpImport, PulpImportRepository};
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(run);
    reg.register(run_repository);
}

fn run(ctx: TaskContext, args: PulpImport) -> TaskFuture {
    Box::pin(async move {
        pulp_import::run(&ctx, args).await?;
        Ok(None)
    })
}

fn run_repository(ctx: TaskContext, args: PulpImportRepository) -> TaskFuture {
    Box::pin(async move {
        pulp_import::run_repository(&ctx, args).await?;
        Ok(None)
    })
}

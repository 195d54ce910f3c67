//! The local runner: every handler of Depot in one process. The API routers, the content app and
//! the task workers share one [`Core`] built from [`Settings`].

use axum::Router;
use depot_core::config::Settings;
use depot_core::startup::Startup;
use depot_core::tasks::TaskRegistry;
use depot_core::{Core, tasks};

/// The functions that run tasks, each with its handlers: one queue each when deployed apart.
pub const TASK_FUNCTIONS: &[(&str, tasks::RegisterTasks)] = &[
    ("task-delete", tasks::general::register_tasks),
    ("api-repositories", api_repositories::register_tasks),
    ("api-remotes", api_remotes::register_tasks),
    ("api-distributions", api_distributions::register_tasks),
    ("api-namespaces", api_namespaces::register_tasks),
    ("api-access", api_access::register_tasks),
    ("api-import-export", api_import_export::register_tasks),
    ("api-upstream-pulps", api_upstream_pulps::register_tasks),
    (
        "api-vulnerability-reports",
        api_vulnerability_reports::register_tasks,
    ),
    ("api-tasks", api_tasks::register_tasks),
    ("task-sync", task_sync::register_tasks),
    ("task-modify", task_modify::register_tasks),
    ("task-publish", task_publish::register_tasks),
    ("task-upload", task_upload::register_tasks),
    ("task-orphan-cleanup", task_orphan_cleanup::register_tasks),
    ("task-repair", task_repair::register_tasks),
    ("task-export", task_export::register_tasks),
    ("task-import", task_import::register_tasks),
    ("task-container-add", task_container_add::register_tasks),
    ("task-container-cache", task_container_cache::register_tasks),
    (
        "task-container-remove",
        task_container_remove::register_tasks,
    ),
    ("task-container-sync", task_container_sync::register_tasks),
    ("task-python-sync", task_python_sync::register_tasks),
];

/// Every task handler: this process runs them all.
pub fn task_registry() -> TaskRegistry {
    let mut reg = TaskRegistry::default();
    for (_, register) in TASK_FUNCTIONS {
        register(&mut reg);
    }
    reg
}

/// Every task of core and the plugins, with the function that runs it.
pub fn task_routes() -> Vec<(&'static str, &'static str)> {
    depot_plugins::install();
    depot_core::plugin::task_specs()
        .map(|s| (s.name, s.function))
        .collect()
}

/// Every route: the REST API, the docs and the content app.
pub fn router(core: Core) -> Router {
    let routes = Router::new()
        .merge(api_status::router())
        .merge(api_docs::router())
        .merge(api_repositories::router())
        .merge(api_remotes::router())
        .merge(api_content::router())
        .merge(api_artifacts::router())
        .merge(api_publications::router())
        .merge(api_distributions::router())
        .merge(api_tasks::router())
        .merge(api_signing_services::router())
        .merge(api_orphans::router())
        .merge(api_namespaces::router())
        .merge(api_access::router())
        .merge(api_import_export::router())
        .merge(api_upstream_pulps::router())
        .merge(api_vulnerability_reports::router())
        .merge(pypi_api::router())
        .merge(content_app::router())
        .merge(registry_api::router());
    depot_http::app(routes, core)
}

pub use depot_core::startup::StartupError;

/// Opens the database (migrating it), the storage and the queues, and makes sure `admin` exists.
/// Returns the core and, when the admin password was generated, that password.
pub async fn build_core(settings: Settings) -> Result<(Core, Option<String>), StartupError> {
    depot_plugins::install();
    let how = Startup {
        migrate: true,
        check_queues: true,
    };
    let core = depot_core::startup::open(settings, task_registry(), how).await?;
    let generated =
        depot_core::users::ensure_admin(&core.db, core.settings.admin_password.as_deref())
            .await
            .map_err(|e| StartupError(format!("cannot create the admin user: {e}")))?;
    Ok((core, generated))
}

/// Starts the task workers (on the shared queue) and the sweeper.
pub async fn start_workers(core: &Core) -> Result<tasks::Workers, StartupError> {
    let workers = if core.settings.role.runs_workers() {
        core.settings.workers
    } else {
        0
    };
    tasks::start_workers(core, core.queues.of(None).clone(), workers)
        .await
        .map_err(|e| StartupError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use depot_core::tasks::routes;

    /// Each function registers exactly the handlers the task specs send to its queue.
    #[test]
    fn every_task_goes_to_the_function_that_runs_it() {
        depot_plugins::install();
        let mut registered = Vec::new();
        for (function, register) in TASK_FUNCTIONS {
            let mut reg = TaskRegistry::default();
            register(&mut reg);
            for handler in reg.names() {
                assert_eq!(routes::function_of(handler), Some(*function), "{handler}");
                registered.push(handler);
            }
        }
        registered.sort();
        let mut routed: Vec<_> = depot_core::plugin::task_specs().map(|s| s.name).collect();
        routed.sort();
        assert_eq!(registered, routed);
    }
}

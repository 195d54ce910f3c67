//! Which function runs each task. A task is sent to the queue of its function
//! (`DEPOT_QUEUE_URL_<FUNCTION>`, else the shared `DEPOT_QUEUE_URL`), so that a deployment with
//! one function per handler crate delivers each task where its code is. The table is the task
//! specs of core and of the installed plugins; the local runner hosts every function and reads
//! one queue.

use super::TaskSpec;

pub static GENERAL_DELETE: TaskSpec = TaskSpec::new("general.delete", "task-delete");
pub static REPOSITORY_UPDATE: TaskSpec = TaskSpec::new("repository.update", "api-repositories");
pub static REPOSITORY_VERSION_DELETE: TaskSpec =
    TaskSpec::new("repository.version_delete", "api-repositories");
pub static REMOTE_UPDATE: TaskSpec = TaskSpec::new("remote.update", "api-remotes");
pub static ACS_UPDATE: TaskSpec = TaskSpec::new("acs.update", "api-remotes");
pub static DISTRIBUTION_CREATE: TaskSpec =
    TaskSpec::new("distribution.create", "api-distributions");
pub static DISTRIBUTION_UPDATE: TaskSpec =
    TaskSpec::new("distribution.update", "api-distributions");
pub static UPLOAD_COMMIT: TaskSpec = TaskSpec::new("upload.commit", "task-upload");
pub static REPOSITORY_MODIFY: TaskSpec = TaskSpec::new("repository.modify", "task-modify");
pub static ORPHAN_CLEANUP: TaskSpec = TaskSpec::new("orphan.cleanup", "task-orphan-cleanup");
pub static DOMAIN_UPDATE: TaskSpec = TaskSpec::new("domain.update", "api-access");
pub static DOMAIN_DELETE: TaskSpec = TaskSpec::new("domain.delete", "api-access");
pub static REPAIR: TaskSpec = TaskSpec::new("repair", "task-repair");
pub static DOMAIN_MIGRATE: TaskSpec = TaskSpec::new("domain.migrate", "api-access");
pub static PULP_EXPORT: TaskSpec = TaskSpec::new("export.pulp", "task-export");
pub static FILESYSTEM_EXPORT: TaskSpec = TaskSpec::new("export.filesystem", "task-export");
pub static PULP_IMPORT: TaskSpec = TaskSpec::new("import.pulp", "task-import");
pub static PULP_IMPORT_REPOSITORY: TaskSpec = TaskSpec::new("import.repository", "task-import");
pub static EXPORTER_UPDATE: TaskSpec = TaskSpec::new("exporter.update", "api-import-export");
pub static RECLAIM_SPACE: TaskSpec = TaskSpec::new("reclaim_space", "task-orphan-cleanup");
pub static TASK_PURGE: TaskSpec = TaskSpec::new("tasks.purge", "api-tasks");
pub static REPLICATE: TaskSpec = TaskSpec::new("replicate", "api-upstream-pulps");
pub static FINALIZE_REPLICATION: TaskSpec =
    TaskSpec::new("replicate.finalize", "api-upstream-pulps");
pub static VULNERABILITY_SCAN: TaskSpec =
    TaskSpec::new("vulnerability.scan", "api-vulnerability-reports");

/// Core's tasks; each plugin lists its own in its descriptor.
pub static CORE_TASKS: [&TaskSpec; 24] = [
    &GENERAL_DELETE,
    &REPOSITORY_UPDATE,
    &REPOSITORY_VERSION_DELETE,
    &REMOTE_UPDATE,
    &ACS_UPDATE,
    &DISTRIBUTION_CREATE,
    &DISTRIBUTION_UPDATE,
    &UPLOAD_COMMIT,
    &REPOSITORY_MODIFY,
    &ORPHAN_CLEANUP,
    &DOMAIN_UPDATE,
    &DOMAIN_DELETE,
    &REPAIR,
    &DOMAIN_MIGRATE,
    &PULP_EXPORT,
    &FILESYSTEM_EXPORT,
    &PULP_IMPORT,
    &PULP_IMPORT_REPOSITORY,
    &EXPORTER_UPDATE,
    &RECLAIM_SPACE,
    &TASK_PURGE,
    &REPLICATE,
    &FINALIZE_REPLICATION,
    &VULNERABILITY_SCAN,
];

/// The function that runs the task `name`; `None` for a name no spec has (a test's own task).
pub fn function_of(name: &str) -> Option<&'static str> {
    crate::plugin::task_specs()
        .find(|s| s.name == name)
        .map(|s| s.function)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_task_has_one_function() {
        let mut keys: Vec<_> = CORE_TASKS.iter().map(|s| s.name).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), CORE_TASKS.len());
        assert_eq!(function_of("repository.modify"), Some("task-modify"));
        assert_eq!(function_of("test.sleep"), None);
    }
}

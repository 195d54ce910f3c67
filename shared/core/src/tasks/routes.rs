//! Every task handler's key and the function that runs it. A task is sent to the queue of its
//! function (`DEPOT_QUEUE_URL_<FUNCTION>`, else the shared `DEPOT_QUEUE_URL`), so that a
//! deployment with one function per handler crate delivers each task where its code is.
//! The local runner hosts every function and reads one queue.

pub const GENERAL_DELETE: &str = "general.delete";
pub const REPOSITORY_UPDATE: &str = "repository.update";
pub const REPOSITORY_VERSION_DELETE: &str = "repository.version_delete";
pub const REMOTE_UPDATE: &str = "remote.update";
pub const NAMESPACE_DELETE: &str = "namespace.delete";
pub const DISTRIBUTION_CREATE: &str = "distribution.create";
pub const DISTRIBUTION_UPDATE: &str = "distribution.update";
pub const UPLOAD_COMMIT: &str = "upload.commit";
pub const CONTENT_CREATE: &str = "file.content_create";
pub const REPOSITORY_MODIFY: &str = "repository.modify";
pub const FILE_SYNC: &str = "file.sync";
pub const FILE_PUBLISH: &str = "file.publish";
pub const ORPHAN_CLEANUP: &str = "orphan.cleanup";
pub const CONTAINER_ADD: &str = "container.add";
pub const CONTAINER_SYNC: &str = "container.sync";
pub const CONTAINER_CACHE: &str = "container.cache";
pub const CONTAINER_REMOVE: &str = "container.remove";
pub const PYTHON_SYNC: &str = "python.sync";

/// (handler key, function) for every task handler.
pub const ROUTES: &[(&str, &str)] = &[
    (GENERAL_DELETE, "task-delete"),
    (REPOSITORY_UPDATE, "api-repositories"),
    (REPOSITORY_VERSION_DELETE, "api-repositories"),
    (REMOTE_UPDATE, "api-remotes"),
    (NAMESPACE_DELETE, "api-namespaces"),
    (DISTRIBUTION_CREATE, "api-distributions"),
    (DISTRIBUTION_UPDATE, "api-distributions"),
    (UPLOAD_COMMIT, "task-upload"),
    (CONTENT_CREATE, "task-upload"),
    (REPOSITORY_MODIFY, "task-modify"),
    (FILE_SYNC, "task-sync"),
    (FILE_PUBLISH, "task-publish"),
    (ORPHAN_CLEANUP, "task-orphan-cleanup"),
    (CONTAINER_ADD, "task-container-add"),
    (CONTAINER_SYNC, "task-container-sync"),
    (CONTAINER_CACHE, "task-container-cache"),
    (CONTAINER_REMOVE, "task-container-remove"),
    (PYTHON_SYNC, "task-python-sync"),
];

/// The function that runs `handler`; `None` for a key no function has (a test's own task).
pub fn function_of(handler: &str) -> Option<&'static str> {
    ROUTES
        .iter()
        .find(|(h, _)| *h == handler)
        .map(|(_, function)| *function)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_handler_has_one_function() {
        let mut keys: Vec<_> = ROUTES.iter().map(|(h, _)| h).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), ROUTES.len());
        assert_eq!(function_of(FILE_SYNC), Some("task-sync"));
        assert_eq!(function_of("test.sleep"), None);
    }
}

//! The `task-container-sync` function; `depot_runtime` says how it runs (Lambda or a queue poller).

fn main() -> std::process::ExitCode {
    depot_runtime::tasks(env!("CARGO_PKG_NAME"), task_container_sync::register_tasks)
}

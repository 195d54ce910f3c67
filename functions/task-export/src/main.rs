//! The `task-export` function; `depot_runtime` says how it runs (Lambda or a queue poller).

fn main() -> std::process::ExitCode {
    depot_runtime::tasks(env!("CARGO_PKG_NAME"), task_export::register_tasks)
}

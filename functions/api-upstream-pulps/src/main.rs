//! The `api-upstream-pulps` function; `depot_runtime` says how it runs (Lambda, an HTTP
//! server, or a queue poller for the replication tasks).

fn main() -> std::process::ExitCode {
    depot_runtime::http(
        env!("CARGO_PKG_NAME"),
        api_upstream_pulps::router,
        api_upstream_pulps::register_tasks,
    )
}

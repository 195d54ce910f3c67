//! The `api-access` function; `depot_runtime` says how it runs (Lambda or an HTTP server).

fn main() -> std::process::ExitCode {
    depot_runtime::http(
        env!("CARGO_PKG_NAME"),
        api_access::router,
        api_access::register_tasks,
    )
}

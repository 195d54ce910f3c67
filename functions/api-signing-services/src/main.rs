//! The `api-signing-services` function; `depot_runtime` says how it runs (Lambda or an HTTP
//! server).

fn main() -> std::process::ExitCode {
    depot_runtime::http(
        env!("CARGO_PKG_NAME"),
        api_signing_services::router,
        depot_runtime::no_tasks,
    )
}

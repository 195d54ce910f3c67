//! The `api-import-export` function; `depot_runtime` says how it runs (Lambda or an HTTP
//! server).

fn main() -> std::process::ExitCode {
    depot_runtime::http(
        env!("CARGO_PKG_NAME"),
        api_import_export::router,
        api_import_export::register_tasks,
    )
}

//! The `migrate` function; `depot_runtime` says how it runs (Lambda or a one-shot command).

fn main() -> std::process::ExitCode {
    depot_runtime::migrate()
}

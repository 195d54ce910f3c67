//! The `sweeper` function; `depot_runtime` says how it runs (Lambda or a loop).

fn main() -> std::process::ExitCode {
    depot_runtime::sweeper()
}

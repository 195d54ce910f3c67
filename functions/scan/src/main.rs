//! The `scan` function; `depot_runtime` says how it runs (Lambda, or a poller of its queue).
//! The scan itself is `depot_core::scan`.

fn main() -> std::process::ExitCode {
    depot_runtime::scanner()
}

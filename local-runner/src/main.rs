//! `cargo run --release -p local-runner`: Depot in one process on `DEPOT_LISTEN`.
//! `local-runner task-routes` prints each task and the function that runs it, one per line (the
//! deployment template's checks read it).

use depot_core::config::Settings;
use depot_http::shutdown_signal;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    if std::env::args().nth(1).as_deref() == Some("task-routes") {
        for (task, function) in local_runner::task_routes() {
            println!("{task} {function}");
        }
        return std::process::ExitCode::SUCCESS;
    }
    depot_http::logging::init(false);
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("depot: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), local_runner::StartupError> {
    let settings = Settings::from_env().map_err(|e| local_runner::StartupError(e.to_string()))?;
    let listen = settings.listen.clone();
    let (core, generated) = local_runner::build_core(settings).await?;
    if let Some(pw) = generated {
        println!("Created user 'admin' with password: {pw}");
        println!("(set PULP_ADMIN_PASSWORD to choose it; this is printed only once)");
    }
    let workers = local_runner::start_workers(&core).await?;
    // On Ctrl-C running tasks get this long to finish (a second Ctrl-C stops at once).
    let drain = std::time::Duration::from_secs(core.settings.heartbeat_timeout.max(10) * 2);
    if core.settings.role.serves_http() {
        depot_http::serve(
            &listen,
            core.settings.http,
            local_runner::router(core.clone()),
        )
        .await
        .map_err(local_runner::StartupError)?;
    } else {
        tracing::info!("Depot task workers running (DEPOT_ROLE=worker)");
        shutdown_signal().await;
        tracing::info!("shutting down: finishing running tasks");
    }
    tokio::select! {
        _ = workers.drain(drain) => {}
        _ = shutdown_signal() => tracing::warn!("stopping without waiting for tasks"),
    }
    Ok(())
}

//! `cargo run --release -p local-runner`: Depot in one process on `DEPOT_LISTEN`.
//! `local-runner task-routes` prints each task and the function that runs it, one per line (the
//! deployment template's checks read it).
//! `local-runner add-signing-service NAME SCRIPT KEY [--home DIR]` adds a signing service to
//! the database the settings name, as Pulp's `pulpcore-manager add-signing-service` does.

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
    if std::env::args().nth(1).as_deref() == Some("add-signing-service") {
        return match add_signing_service(std::env::args().skip(2).collect()).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("depot: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("depot: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `NAME SCRIPT KEY [--home DIR]` (`--gnupghome` as Pulp's older name): checks the service
/// by having it sign a test file, then records it.
async fn add_signing_service(args: Vec<String>) -> Result<(), String> {
    let usage = "usage: local-runner add-signing-service NAME SCRIPT KEY [--home DIR]";
    let mut plain = Vec::new();
    let mut home = None;
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--home" | "--gnupghome" => home = Some(args.next().ok_or(usage)?),
            _ => plain.push(a),
        }
    }
    let [name, script, key] = plain.as_slice() else {
        return Err(usage.into());
    };
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let (core, _) = local_runner::build_core(settings)
        .await
        .map_err(|e| e.to_string())?;
    let home = home.map(std::path::PathBuf::from);
    let added = depot_core::signing::add(&core.db, name, script.as_ref(), key, home.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Successfully added signing service {} for key {}.",
        added.name, added.pubkey_fingerprint
    );
    Ok(())
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

//! The ordinary host, for containers or Kubernetes: the same function as a long-lived process.

use std::sync::Arc;
use std::time::Duration;

use depot_core::Core;
use depot_core::config::function_queue_variable;
use depot_core::startup::StartupError;
use depot_core::tasks;
use depot_http::shutdown_signal;

use crate::{Function, Kind, migrate_now};

pub async fn run(function: &Function, core: Core) -> Result<(), StartupError> {
    match function.kind {
        Kind::Migrate => {
            if let Some(password) = migrate_now(&core).await? {
                println!("Created user 'admin' with password: {password}");
            }
            println!("database migrated");
            Ok(())
        }
        Kind::Sweeper => {
            let every = Duration::from_secs((core.settings.heartbeat_timeout / 2).clamp(1, 30));
            tracing::info!("sweeping every {every:?}");
            // Listening from the start: a signal that comes mid-sweep is not missed.
            let shutdown = shutdown_signal();
            tokio::pin!(shutdown);
            loop {
                if let Err(e) = tasks::sweep(&core).await {
                    tracing::warn!("task sweep failed: {e}");
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = &mut shutdown => return Ok(()),
                }
            }
        }
        Kind::Scan => {
            let queue = required_queue(function, &core)?;
            tracing::info!("scanning the objects its queue announces");
            // Listening from the start: a signal that comes mid-scan is not missed.
            let shutdown = shutdown_signal();
            tokio::pin!(shutdown);
            loop {
                let delivery = tokio::select! {
                    d = queue.receive() => d,
                    _ = &mut shutdown => return Ok(()),
                };
                let delivery = match delivery {
                    Ok(Some(d)) => d,
                    Ok(None) => return Ok(()),
                    Err(e) => {
                        tracing::error!("queue receive failed: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                // Not acknowledged on failure: the queue delivers it again, then dead-letters it.
                match depot_core::scan::on_notification(&core, &delivery.body).await {
                    Ok(_) => {
                        if let Err(e) = queue.ack(&delivery.receipt).await {
                            tracing::warn!("queue ack failed: {e}");
                        }
                    }
                    Err(e) => tracing::error!("scan failed: {e}"),
                }
            }
        }
        Kind::Tasks => {
            let queue = required_queue(function, &core)?;
            let workers = start(&core, queue).await?;
            tracing::info!("{} polling its queue", function.name);
            shutdown_signal().await;
            drain(&core, workers).await;
            Ok(())
        }
        Kind::Http => {
            // An API function runs its own deferred tasks when it has a queue of its own.
            let workers = match own_queue(function, &core) {
                Some(queue) if core.tasks.names().next().is_some() => {
                    Some(start(&core, queue).await?)
                }
                _ => None,
            };
            let app = depot_http::app(
                function.router.expect("an HTTP function has routes")(),
                core.clone(),
            );
            depot_http::serve(&core.settings.listen, core.settings.http, app)
                .await
                .map_err(StartupError)?;
            if let Some(workers) = workers {
                drain(&core, workers).await;
            }
            Ok(())
        }
    }
}

fn required_queue(
    function: &Function,
    core: &Core,
) -> Result<Arc<dyn depot_queue::Queue>, StartupError> {
    own_queue(function, core).ok_or_else(|| {
        StartupError(format!(
            "{} reads its own queue: set {}",
            function.name,
            function_queue_variable(function.name)
        ))
    })
}

fn own_queue(function: &Function, core: &Core) -> Option<Arc<dyn depot_queue::Queue>> {
    core.queues.own(function.name).cloned()
}

async fn start(
    core: &Core,
    queue: Arc<dyn depot_queue::Queue>,
) -> Result<tasks::Workers, StartupError> {
    tasks::start_workers(core, queue, core.settings.workers.max(1))
        .await
        .map_err(|e| StartupError(format!("cannot start the task workers: {e}")))
}

/// Lets running tasks finish (a second signal stops at once).
async fn drain(core: &Core, workers: tasks::Workers) {
    let timeout = Duration::from_secs(core.settings.heartbeat_timeout.max(10) * 2);
    tokio::select! {
        _ = workers.drain(timeout) => {}
        _ = shutdown_signal() => tracing::warn!("stopping without waiting for tasks"),
    }
}

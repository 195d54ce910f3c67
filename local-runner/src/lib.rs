//! The local runner: every handler of Depot in one process. The API routers, the content app and
//! the task workers share one [`Core`] built from [`Settings`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use depot_core::config::Settings;
use depot_core::db::Db;
use depot_core::tasks::TaskRegistry;
use depot_core::users::AuthCache;
use depot_core::{Core, tasks};

/// Every task handler this process can run.
pub fn task_registry() -> TaskRegistry {
    let mut reg = TaskRegistry::default();
    tasks::general::register_tasks(&mut reg);
    api_repositories::register_tasks(&mut reg);
    api_remotes::register_tasks(&mut reg);
    api_distributions::register_tasks(&mut reg);
    api_namespaces::register_tasks(&mut reg);
    task_sync::register_tasks(&mut reg);
    task_modify::register_tasks(&mut reg);
    task_publish::register_tasks(&mut reg);
    task_upload::register_tasks(&mut reg);
    task_orphan_cleanup::register_tasks(&mut reg);
    task_container_add::register_tasks(&mut reg);
    task_container_cache::register_tasks(&mut reg);
    task_container_remove::register_tasks(&mut reg);
    task_container_sync::register_tasks(&mut reg);
    task_python_sync::register_tasks(&mut reg);
    reg
}

/// Every route: the REST API, the docs and the content app.
pub fn router(core: Core) -> Router {
    Router::new()
        .merge(api_status::router())
        .merge(api_docs::router())
        .merge(api_repositories::router())
        .merge(api_remotes::router())
        .merge(api_content::router())
        .merge(api_artifacts::router())
        .merge(api_publications::router())
        .merge(api_distributions::router())
        .merge(api_tasks::router())
        .merge(api_orphans::router())
        .merge(api_namespaces::router())
        .merge(pypi_api::router())
        .merge(content_app::router())
        .merge(registry_api::router())
        .layer(axum::middleware::from_fn(depot_http::cid::layer))
        // Bodies are bounded where they are read (depot_http::body): JSON and form fields by
        // size, file parts streamed to storage. axum's blanket 2 MB limit would refuse files.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(core)
}

#[derive(Debug)]
pub struct StartupError(pub String);

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Opens the database (migrating it), the storage and the queue, and makes sure `admin` exists.
/// Returns the core and, when the admin password was generated, that password.
pub async fn build_core(settings: Settings) -> Result<(Core, Option<String>), StartupError> {
    std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
        StartupError(format!(
            "cannot create DEPOT_DATA_DIR {}: {e}",
            settings.data_dir.display()
        ))
    })?;
    let db = Db::connect(&settings.database_url)
        .await
        .map_err(|e| StartupError(e.to_string()))?;
    db.migrate()
        .await
        .map_err(|e| StartupError(format!("database migration failed: {e}")))?;
    let storage = depot_core::storage::open(&settings.storage)
        .await
        .map_err(StartupError)?;
    let generated = depot_core::users::ensure_admin(&db, settings.admin_password.as_deref())
        .await
        .map_err(|e| StartupError(format!("cannot create the admin user: {e}")))?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| StartupError(format!("cannot build the HTTP client: {e}")))?;
    let queue: Arc<dyn depot_queue::Queue> = match &settings.queue_url {
        None => depot_queue::InProcessQueue::new(),
        Some(url) => Arc::new(
            depot_queue::SqsQueue::connect(url, settings.queue_endpoint.as_deref())
                .await
                .map_err(|e| StartupError(e.to_string()))?,
        ),
    };
    let core = Core {
        db,
        storage,
        queue,
        settings: Arc::new(settings),
        tasks: Arc::new(task_registry()),
        http,
        download_clients: Default::default(),
        auth_cache: Arc::new(AuthCache::default()),
    };
    Ok((core, generated))
}

/// The running task workers of this process.
pub struct Workers {
    stop: tokio::sync::watch::Sender<bool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Workers {
    /// Stops taking new tasks and waits up to `timeout` for the running ones to finish. What is
    /// still running then is left to another process's sweeper, as after a crash.
    pub async fn drain(self, timeout: Duration) {
        let _ = self.stop.send(true);
        let all = async {
            for h in self.handles {
                let _ = h.await;
            }
        };
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!("tasks still running after {timeout:?}; leaving them to the sweeper");
        }
    }
}

/// Starts the task workers and the sweeper on the current runtime.
pub async fn start_workers(core: &Core) -> Result<Workers, StartupError> {
    // Tasks left behind by an earlier run: fail the ones whose worker is gone, re-queue the rest.
    tasks::sweep(core)
        .await
        .map_err(|e| StartupError(format!("task sweep failed: {e}")))?;
    tasks::resend_unblocked(core)
        .await
        .map_err(|e| StartupError(format!("re-queueing tasks failed: {e}")))?;
    let workers = if core.settings.role.runs_workers() {
        core.settings.workers
    } else {
        0
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handles = (0..workers)
        .map(|i| {
            tokio::spawn(tasks::run_worker(
                core.clone(),
                format!("worker-{i}"),
                stopped.clone(),
            ))
        })
        .collect();
    let sweeper = core.clone();
    tokio::spawn(async move {
        let every = Duration::from_secs((sweeper.settings.heartbeat_timeout / 2).clamp(1, 30));
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = tasks::sweep(&sweeper).await {
                tracing::warn!("task sweep failed: {e}");
            }
        }
    });
    Ok(Workers { stop, handles })
}

//! Opening a [`Core`] from [`Settings`]: the one place where a process connects to its database,
//! storage and queues. The local runner migrates and checks everything at start-up; a function
//! binary does neither (migrations are their own step, and a cold start should only do what a
//! request needs).

use std::sync::Arc;
use std::time::Duration;

use depot_queue::{InProcessQueue, Queue, Queues, SqsQueue};

use crate::Core;
use crate::config::{Settings, function_queue_variable};
use crate::db::Db;
use crate::secrets::Secrets;
use crate::serving_cache::ServingCache;
use crate::tasks::TaskRegistry;
use crate::users::AuthCache;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

/// What to do while opening.
#[derive(Debug, Clone, Copy)]
pub struct Startup {
    /// Apply the database migrations first.
    pub migrate: bool,
    /// Ask each SQS queue whether it exists, so that a wrong URL fails at once.
    pub check_queues: bool,
}

/// Opens the database, the storage and the queues of `settings`.
pub async fn open(
    settings: Settings,
    tasks: TaskRegistry,
    how: Startup,
) -> Result<Core, StartupError> {
    crate::hrefs::set_public_root(&settings.api_root);
    let mut unsupported = crate::config::unsupported_pulp_settings();
    for d in &settings.task_diagnostics {
        if !crate::tasks::diagnostics::SUPPORTED.contains(&d.as_str()) {
            unsupported.push(format!("PULP_TASK_DIAGNOSTICS[{d}]"));
        }
    }
    if !unsupported.is_empty() {
        tracing::warn!(
            "settings Depot does not support, without effect: {}",
            unsupported.join(", ")
        );
    }
    if matches!(settings.storage, crate::config::StorageSettings::Fs { .. })
        || settings.database_url.starts_with("sqlite:")
    {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
            StartupError(format!(
                "cannot create DEPOT_DATA_DIR {}: {e}",
                settings.data_dir.display()
            ))
        })?;
    }
    let alone = settings.queue_url.is_none() && settings.function_queues.is_empty();
    let db = Db::connect(&settings.database_url)
        .await
        .map_err(|e| StartupError(e.to_string()))?;
    let db = match secrets(&settings, alone)? {
        Some(s) => db.with_secrets(s),
        None => db,
    };
    if how.migrate {
        db.migrate()
            .await
            .map_err(|e| StartupError(format!("database migration failed: {e}")))?;
        crate::models::role::sync_locked(&db)
            .await
            .map_err(|e| StartupError(format!("writing the locked roles failed: {e}")))?;
        crate::models::access_policy::sync_defaults(&db)
            .await
            .map_err(|e| StartupError(format!("writing the access policies failed: {e}")))?;
        if db.secrets().is_ok() {
            crate::models::remote::encrypt_plain_secrets(&db)
                .await
                .map_err(|e| StartupError(format!("encrypting stored secrets failed: {e}")))?;
        }
    }
    let storage = crate::storage::open(&settings.storage)
        .await
        .map_err(StartupError)?;
    let storage: Arc<dyn crate::storage::Storage> = Arc::new(
        crate::storage::domains::DomainStorage::new(storage, settings.storage.clone(), db.clone()),
    );
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| StartupError(format!("cannot build the HTTP client: {e}")))?;
    let queues = open_queues(&settings, how.check_queues).await?;
    if how.migrate && alone {
        // No other process shares this storage (that needs a shared queue): every staged file
        // is a leftover of a process that was killed while writing it.
        match storage.sweep_staged(Duration::ZERO).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("removed {n} staged files left by an earlier run"),
            Err(e) => tracing::warn!("cannot sweep the staged files: {e}"),
        }
    }
    // Exact only when every change to what is served happens in this process (serving_cache.rs):
    // its tasks run here (the in-process queue) and so do its scans (not the scan function's).
    let changes_are_local = alone && settings.scan_on_write;
    Ok(Core {
        db,
        storage,
        queues,
        settings: Arc::new(settings),
        tasks: Arc::new(tasks),
        http,
        download_clients: Default::default(),
        auth_cache: Arc::new(AuthCache::default()),
        serving_cache: Arc::new(ServingCache::new(changes_are_local)),
        policies: Default::default(),
        grants: Default::default(),
        domains: Default::default(),
    })
}

/// The keys of the secrets at rest. A key file named by `PULP_DB_ENCRYPTION_KEY` must exist;
/// the default one, in the data directory, is made when missing by a process that runs alone
/// (processes that share a queue must share the key, so none of them may make its own).
fn secrets(settings: &Settings, alone: bool) -> Result<Option<Secrets>, StartupError> {
    let opened = match &settings.db_encryption_key {
        Some(path) => Secrets::load(path).map(Some),
        None => {
            let path = settings.data_dir.join("database_fields.symmetric.key");
            if alone {
                Secrets::load_or_create(&path).map(Some)
            } else if path.exists() {
                Secrets::load(&path).map(Some)
            } else {
                tracing::warn!(
                    "PULP_DB_ENCRYPTION_KEY is not set: remotes with credentials cannot be stored"
                );
                Ok(None)
            }
        }
    };
    opened.map_err(|e| StartupError(format!("PULP_DB_ENCRYPTION_KEY: {e}")))
}

/// The shared queue (`DEPOT_QUEUE_URL`, in-process when unset) and each function's own queue.
async fn open_queues(settings: &Settings, check: bool) -> Result<Queues, StartupError> {
    let first_url = settings.queue_url.as_deref().or(settings
        .function_queues
        .first()
        .map(|(_, url)| url.as_str()));
    let Some(first_url) = first_url else {
        return Ok(Queues::new(InProcessQueue::new()));
    };
    let client = depot_queue::sqs_client(first_url, settings.queue_endpoint.as_deref()).await;
    let open = |setting: String, url: &str| {
        let queue = SqsQueue::new(client.clone(), url);
        async move {
            if check {
                queue
                    .check(&setting)
                    .await
                    .map_err(|e| StartupError(e.to_string()))?;
            }
            Ok::<Arc<dyn Queue>, StartupError>(Arc::new(queue))
        }
    };
    let shared = match &settings.queue_url {
        Some(url) => open("DEPOT_QUEUE_URL".into(), url).await?,
        None => InProcessQueue::new(),
    };
    let mut queues = Queues::new(shared);
    for (function, url) in &settings.function_queues {
        queues = queues.with(
            function,
            open(function_queue_variable(function), url).await?,
        );
    }
    Ok(queues)
}

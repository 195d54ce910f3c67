//! Each domain's own storage: a domain whose `storage_class` and `storage_settings` name a
//! folder or a bucket of its own keeps its files there, the others (and `default`) in the
//! deployment's. Every call goes to the backend of the domain in force (the task-local of
//! `crate::domain`), so the code that stores and serves files does not know about domains.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{ByteStream, Space, StagedFile, Storage};
use crate::config::StorageSettings;
use crate::db::Db;
use crate::models::{domain, domain_storage};

/// How long a domain's backend is kept: a change of its storage made in another process is
/// seen after this long at most (in this process at once, see [`Storage::forget`]).
const TTL: Duration = Duration::from_secs(30);
/// The most domains whose backends are kept (then they are opened again).
const MAX_KEPT: usize = 1_000;

/// A domain's backend, and when it was opened.
type Kept = (Instant, Arc<dyn Storage>);

pub struct DomainStorage {
    deployment: Arc<dyn Storage>,
    deployment_settings: StorageSettings,
    db: Db,
    kept: Mutex<HashMap<String, Kept>>,
}

impl DomainStorage {
    pub fn new(deployment: Arc<dyn Storage>, settings: StorageSettings, db: Db) -> Self {
        Self {
            deployment,
            deployment_settings: settings,
            db,
            kept: Mutex::new(HashMap::new()),
        }
    }

    /// The backend of the domain in force.
    async fn pick(&self) -> io::Result<Arc<dyn Storage>> {
        let id = crate::domain::id();
        if &*id == crate::domain::DEFAULT_ID {
            return Ok(self.deployment.clone());
        }
        let kept = self
            .kept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&*id)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, backend)| backend.clone());
        if let Some(backend) = kept {
            return Ok(backend);
        }
        let d = domain::get(&self.db, &id).await.map_err(io::Error::other)?;
        let backend = match domain_storage::storage_settings(&d.storage_class, &d.storage_settings)
        {
            Some(own) if own != self.deployment_settings => open(&own).await?,
            _ => self.deployment.clone(),
        };
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= MAX_KEPT {
            kept.clear();
        }
        kept.insert(id.to_string(), (Instant::now(), backend.clone()));
        Ok(backend)
    }
}

/// Opens a backend a domain names (a folder is made if missing; a bucket must answer).
pub async fn open(settings: &StorageSettings) -> io::Result<Arc<dyn Storage>> {
    super::open(settings).await.map_err(io::Error::other)
}

#[async_trait]
impl Storage for DomainStorage {
    async fn stage(&self) -> io::Result<Box<dyn StagedFile>> {
        self.pick().await?.stage().await
    }

    async fn exists(&self, key: &str) -> io::Result<bool> {
        self.pick().await?.exists(key).await
    }

    async fn open(&self, key: &str, offset: u64, len: Option<u64>) -> io::Result<ByteStream> {
        self.pick().await?.open(key, offset, len).await
    }

    async fn read(&self, key: &str, offset: u64, len: u64) -> io::Result<bytes::Bytes> {
        self.pick().await?.read(key, offset, len).await
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        self.pick().await?.delete(key).await
    }

    async fn space(&self) -> io::Result<Option<Space>> {
        self.pick().await?.space().await
    }

    /// The deployment's staged files only: a domain's own folder is swept by no one but a
    /// process that writes there.
    async fn sweep_staged(&self, idle: Duration) -> io::Result<u64> {
        self.deployment.sweep_staged(idle).await
    }

    async fn presigned_url(
        &self,
        key: &str,
        head: bool,
        filename: &str,
        content_type: &str,
    ) -> io::Result<Option<String>> {
        self.pick()
            .await?
            .presigned_url(key, head, filename, content_type)
            .await
    }

    fn forget(&self, domain_id: &str) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.remove(domain_id);
        }
    }
}

/// Refuses a folder the server cannot use (it is made when missing), so that a domain's
/// storage does not fail each request later. Buckets are not reached here: they may be set up
/// after the domain.
pub async fn check_usable(
    class: &str,
    settings: &serde_json::Map<String, serde_json::Value>,
) -> crate::CoreResult<()> {
    if let Some(StorageSettings::Fs { root }) = domain_storage::storage_settings(class, settings)
        && let Err(e) = super::FsStorage::new(&root)
    {
        return Err(crate::CoreError::Invalid(serde_json::json!({
            "storage_settings": {"location": [format!("The server cannot use this folder: {e}")]}
        })));
    }
    Ok(())
}

/// Moves the domain in force to the storage `class` and `settings` name (validated): copies
/// each of its files there (those already there are kept), artifacts stored meanwhile too, then
/// records the new storage, as Pulp's `migrate_backend` does. The old copies stay where they
/// were. A file missing from the old storage stops the move, with Pulp's advice.
pub async fn migrate(
    core: &crate::Core,
    progress: &crate::tasks::Progress,
    class: &str,
    settings: &serde_json::Map<String, serde_json::Value>,
) -> crate::CoreResult<()> {
    use futures_util::StreamExt;
    let id = crate::domain::id().to_string();
    let target = match domain_storage::storage_settings(class, settings) {
        Some(own) => open(&own).await?,
        None => open(&core.settings.storage).await?,
    };
    progress
        .start("migrate", "Migrating Artifacts", Some(0))
        .await;
    let mut since = String::new();
    loop {
        let files = crate::models::artifact::files_since(&core.db, &since).await?;
        let Some((_, last)) = files.last() else {
            break;
        };
        since = last.clone();
        progress.advance_total("migrate", files.len() as i64).await;
        for (key, _) in files {
            if !target.exists(&key).await? {
                let mut body = core.storage.open(&key, 0, None).await.map_err(|_| {
                    crate::CoreError::invalid(format!(
                        "Found missing file for artifact {key}. Please run the repair task or \
                         delete the offending artifact."
                    ))
                })?;
                let mut staged = target.stage().await?;
                while let Some(chunk) = body.next().await {
                    staged.write(&chunk?).await?;
                }
                staged.commit(&key).await?;
            }
            progress.advance("migrate", 1).await;
        }
    }
    progress.complete("migrate").await;
    let name = domain::get(&core.db, &id).await?.name;
    let message = format!("Update Domain({name})'s Backend Settings");
    progress.start("update", &message, Some(1)).await;
    let sealed = domain::seal(&core.db, settings)?;
    domain::set_storage(&core.db, &id, class, &sealed).await?;
    core.storage.forget(&id);
    core.domains.forget();
    progress.advance("update", 1).await;
    progress.complete("update").await;
    Ok(())
}

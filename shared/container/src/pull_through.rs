//! Pull-through caches. A pull-through distribution at base path `P` with a pull-through
//! remote (an upstream registry) answers pulls of `P/<name>`: the first one creates, for that
//! path, a container repository (keeping one version), a container remote for `<name>` upstream
//! (on demand, with the cache remote's settings) and a container distribution; later pulls find
//! that distribution directly, and the registry revalidates tags against upstream.

use depot_core::CoreResult;
use depot_core::db::Db;
use depot_core::models::distribution::{self, NewDistribution, Source};
use depot_core::models::remote::{self, NewRemote, Policy, Remote};
use depot_core::models::repository::{self, NewRepository};
use sqlx::Row;

use crate::store::{self, Repo};
use crate::upstream::included;
use crate::{DISTRIBUTION_TYPE, REPOSITORY_TYPE, RegistryError, RegistryResult};

pub const PULL_THROUGH_TYPE: &str = "container.pull-through";

/// A pull-through distribution and its remote.
pub struct Cache {
    pub distribution_id: String,
    pub base_path: String,
    pub private: bool,
    pub remote: Remote,
}

impl Cache {
    /// Whether the remote's `includes`/`excludes` let `upstream_name` through.
    pub fn allows(&self, upstream_name: &str) -> bool {
        let list = |k: &str| self.remote.strings(k).unwrap_or_default();
        included(upstream_name, &list("includes"), &list("excludes"))
    }
}

/// The pull-through distribution whose base path is the longest path prefix of `name`, and the
/// upstream name (the rest of `name`).
pub async fn find(db: &Db, name: &str) -> CoreResult<Option<(Cache, String)>> {
    let rows = sqlx::query(
        "SELECT id, base_path, private AS private, remote_id FROM distributions \
         WHERE pulp_type = $1 AND domain_id = $2",
    )
    .bind(PULL_THROUGH_TYPE)
    .bind(depot_core::domain::id().to_string())
    .fetch_all(db.pool())
    .await?;
    let mut best: Option<(String, String, bool, Option<String>)> = None;
    for r in rows {
        let base_path: String = r.try_get(1)?;
        let longer = best.as_ref().is_none_or(|b| base_path.len() > b.1.len());
        if name.starts_with(&format!("{base_path}/")) && longer {
            best = Some((
                r.try_get(0)?,
                base_path,
                depot_core::db::get_bool(&r, "private")?,
                r.try_get(3)?,
            ));
        }
    }
    let Some((distribution_id, base_path, private, Some(remote_id))) = best else {
        return Ok(None);
    };
    let remote = remote::get(db, &remote_id).await?;
    let upstream_name = name[base_path.len() + 1..].to_string();
    Ok(Some((
        Cache {
            distribution_id,
            base_path,
            private,
            remote,
        },
        upstream_name,
    )))
}

/// The cache's repository for `name`, made with its remote and distribution on first use.
pub async fn open(db: &Db, cache: &Cache, name: &str, upstream_name: &str) -> RegistryResult<Repo> {
    if let Some(repo) = store::find(db, name).await? {
        return Ok(repo);
    }
    if let Err(e) = create(db, cache, name, upstream_name).await {
        // Parallel first pulls of a name race; the winner's distribution appears shortly.
        if let Some(repo) = store::find_soon(db, name).await? {
            return Ok(repo);
        }
        tracing::warn!("cannot cache '{name}': {e}");
        return Err(RegistryError::NameUnknown(name.to_string()));
    }
    store::find(db, name)
        .await?
        .ok_or_else(|| RegistryError::NameUnknown(name.to_string()))
}

/// Creates the repository, remote and distribution; removes what it made when a step fails,
/// so that nothing half-made is left behind.
async fn create(db: &Db, cache: &Cache, name: &str, upstream_name: &str) -> CoreResult<()> {
    let repo = repository::create(
        db,
        NewRepository {
            pulp_type: REPOSITORY_TYPE,
            name: name.to_string(),
            description: None,
            pulp_labels: Default::default(),
            retain_repo_versions: Some(1),
            retain_checkpoints: None,
            remote_id: None,
            autopublish: false,
            manifest: None,
        },
    )
    .await?;
    let mut settings = cache.remote.settings.clone();
    settings.remove("includes");
    settings.remove("excludes");
    settings.insert("upstream_name".into(), upstream_name.into());
    let made = async {
        let remote = remote::create(
            db,
            NewRemote {
                pulp_type: REPOSITORY_TYPE,
                name: name.to_string(),
                url: cache.remote.url.clone(),
                policy: Policy::OnDemand,
                pulp_labels: Default::default(),
                settings,
            },
        )
        .await?;
        let d = distribution::create(
            db,
            NewDistribution {
                pulp_type: DISTRIBUTION_TYPE.into(),
                name: name.to_string(),
                base_path: name.to_string(),
                pulp_labels: Default::default(),
                hidden: false,
                source: Source {
                    repository_id: Some(repo.id.clone()),
                    ..Default::default()
                },
                checkpoint: false,
                private: cache.private,
                description: None,
                remote_id: Some(remote.id.clone()),
                pull_through_id: Some(cache.distribution_id.clone()),
                allow_uploads: true,
                content_guard: None,
            },
        )
        .await;
        if d.is_err() {
            remote::delete(db, &remote.id).await?;
        }
        d?;
        crate::namespaces::ensure(db, name).await
    }
    .await;
    if made.is_err() {
        repository::delete(db, &repo.id).await?;
    }
    made
}

//! How file distributions are replicated from an upstream Pulp: the remote is the upstream
//! distribution's `PULP_MANIFEST` (named as its repository or publication names it), and the
//! repository is synced from it as a mirror.

use depot_core::replication::{BoxFuture, Replicable, Upstream, sync_dispatch};
use depot_core::tasks::Dispatch;
use serde_json::{Map, Value, json};

use crate::api::repositories::SYNC_TASK;

pub static REPLICABLE: Replicable = Replicable {
    component: "file",
    distributions: "distributions/file/file/",
    remote: &crate::REMOTE,
    repository: &crate::REPOSITORY,
    distribution: &crate::DISTRIBUTION,
    remote_url,
    remote_fields: |_| Map::new(),
    repository_fields,
    distribution_fields: |_| Map::new(),
    sync,
};

/// The upstream's manifest URL: the distribution's base URL and the manifest name of what it
/// serves (a repository, a publication, or a version's repository).
fn remote_url<'a>(upstream: &'a Upstream, distro: &'a Value) -> BoxFuture<'a, Option<String>> {
    Box::pin(async move {
        let text = |k: &str| distro.get(k).and_then(Value::as_str);
        let holder = match (
            text("repository"),
            text("publication"),
            text("repository_version"),
        ) {
            (Some(repo), _, _) => repo.to_string(),
            (None, Some(publication), _) => publication.to_string(),
            (None, None, Some(version)) => match version.rsplit_once("versions/") {
                Some((repo, _)) => repo.to_string(),
                None => return Ok(None),
            },
            (None, None, None) => return Ok(None),
        };
        let Some(base_url) = text("base_url") else {
            return Ok(None);
        };
        let entity = upstream.follow(&holder).await?;
        let manifest = entity
            .get("manifest")
            .and_then(Value::as_str)
            .unwrap_or("PULP_MANIFEST");
        Ok(Some(format!("{base_url}{manifest}")))
    })
}

/// The repository keeps the manifest's name and never publishes on its own: a mirror sync
/// publishes what upstream serves.
fn repository_fields(url: &str) -> Map<String, Value> {
    let manifest = url.rsplit('/').next().unwrap_or("PULP_MANIFEST");
    Map::from_iter([
        ("manifest".to_string(), json!(manifest)),
        ("autopublish".to_string(), json!(false)),
    ])
}

fn sync(repository_id: String, remote_id: String) -> Dispatch {
    let args = crate::Sync {
        repository_id: repository_id.clone(),
        remote_id: remote_id.clone(),
        mirror: true,
        optimize: true,
    };
    sync_dispatch(
        SYNC_TASK,
        &args,
        (&crate::REPOSITORY, &repository_id),
        (&crate::REMOTE, &remote_id),
    )
}

//! How container distributions are replicated from an upstream Pulp, as pulp_container does it:
//! the remote is the upstream's registry (its base URL) and the repository its distribution's
//! name there (`upstream_name`, from the registry path), synced as a mirror; the distribution
//! keeps the upstream's `private` and `description`.

use depot_core::replication::{BoxFuture, Replicable, Upstream, sync_dispatch};
use depot_core::tasks::Dispatch;
use depot_core::tasks::args::RemoteSync;
use serde_json::{Map, Value, json};

use crate::api::repository_actions::SYNC_TASK;

pub static REPLICABLE: Replicable = Replicable {
    component: "container",
    distributions: "distributions/container/container/",
    remote: &crate::plugin::REMOTE,
    repository: &crate::plugin::REPOSITORY,
    distribution: &crate::plugin::DISTRIBUTION,
    remote_url,
    remote_fields,
    repository_fields: |_| Map::new(),
    distribution_fields,
    sync,
};

/// The upstream's registry, for a distribution whose name there is known.
fn remote_url<'a>(upstream: &'a Upstream, distro: &'a Value) -> BoxFuture<'a, Option<String>> {
    Box::pin(async move { Ok(upstream_name(distro).map(|_| upstream.origin().to_string())) })
}

/// The name in the upstream registry: its registry path without the host.
fn upstream_name(distro: &Value) -> Option<&str> {
    distro
        .get("registry_path")
        .and_then(Value::as_str)
        .and_then(|p| p.split_once('/'))
        .map(|(_, name)| name)
        .filter(|name| !name.is_empty())
}

fn remote_fields(distro: &Value) -> Map<String, Value> {
    upstream_name(distro)
        .map(|name| Map::from_iter([("upstream_name".to_string(), json!(name))]))
        .unwrap_or_default()
}

fn distribution_fields(distro: &Value) -> Map<String, Value> {
    let private = distro
        .get("private")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let description = distro.get("description").cloned().unwrap_or(Value::Null);
    Map::from_iter([
        ("private".to_string(), json!(private)),
        ("description".to_string(), description),
    ])
}

fn sync(repository_id: String, remote_id: String) -> Dispatch {
    let args = crate::plugin::Sync(RemoteSync {
        repository_id: repository_id.clone(),
        remote_id: remote_id.clone(),
        mirror: true,
    });
    sync_dispatch(
        SYNC_TASK,
        &args,
        (&crate::plugin::REPOSITORY, &repository_id),
        (&crate::plugin::REMOTE, &remote_id),
    )
}

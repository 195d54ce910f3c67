//! How python distributions are replicated from an upstream Pulp, as pulp_python does it: the
//! remote is the upstream distribution's index (its `base_url`), fetched whole (`immediate`,
//! pre-releases too: an upstream that is itself on demand would be asked for every file anyway),
//! and the repository is synced from it as a mirror.

use depot_core::replication::{BoxFuture, Replicable, Upstream, sync_dispatch};
use depot_core::tasks::Dispatch;
use depot_core::tasks::args::RemoteSync;
use serde_json::{Map, Value, json};

use crate::api::repositories::SYNC_TASK;

pub static REPLICABLE: Replicable = Replicable {
    component: "python",
    distributions: "distributions/python/pypi/",
    remote: &crate::plugin::REMOTE,
    repository: &crate::plugin::REPOSITORY,
    distribution: &crate::plugin::DISTRIBUTION,
    remote_url,
    remote_fields: |_| {
        Map::from_iter([
            ("policy".to_string(), json!("immediate")),
            ("prereleases".to_string(), json!(true)),
        ])
    },
    repository_fields: |_| Map::from_iter([("autopublish".to_string(), json!(false))]),
    distribution_fields: |_| Map::new(),
    sync,
};

fn remote_url<'a>(_: &'a Upstream, distro: &'a Value) -> BoxFuture<'a, Option<String>> {
    Box::pin(async move {
        let text = |k: &str| distro.get(k).and_then(Value::as_str);
        // What serves only a remote (pull-through) has nothing to mirror; a version (what a
        // replication serves) has, so that replicas chain.
        let serves = ["repository", "publication", "repository_version"];
        if serves.iter().all(|k| text(k).is_none()) {
            return Ok(None);
        }
        Ok(text("base_url").map(str::to_string))
    })
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

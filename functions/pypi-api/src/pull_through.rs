//! Pull-through indexes: a python distribution with a `remote` answers a request for a project
//! it does not have by reading that project from the remote's index (through the remote's
//! filters), recording its files (left upstream until first downloaded, for an `on_demand`
//! remote) and adding them to the distribution's repository. The next request is local.

use depot_core::CoreResult;
use depot_core::models::remote;
use depot_http::AppState;
use depot_python::filters::Filters;
use depot_python::upstream;

use crate::Index;

/// Brings `project` in from the remote; the index as it then is (`None`: upstream lacks it).
pub async fn fetch(state: &AppState, index: &Index, project: &str) -> CoreResult<Option<Index>> {
    let (Some(remote_id), Some(repository_id)) = (&index.remote_id, &index.repository_id) else {
        return Ok(None);
    };
    let remote = remote::get(&state.db, remote_id).await?;
    let filters = Filters::of(&remote)?;
    let files = upstream::wanted_files(state, &remote, &filters, project).await?;
    if files.is_empty() {
        return Ok(None);
    }
    let ids = upstream::bring_in(state, &remote, files, None).await?;
    let task = crate::add_to_repository(state, repository_id, &ids, true, None).await?;
    if task.state == "failed" {
        tracing::warn!("pull-through of {project} failed: {:?}", task.error);
        return Ok(None);
    }
    let latest = depot_core::models::repository::get(&state.db, repository_id)
        .await?
        .latest_number;
    Ok(Some(Index {
        base_path: index.base_path.clone(),
        repository_id: index.repository_id.clone(),
        number: latest,
        allow_uploads: index.allow_uploads,
        remote_id: index.remote_id.clone(),
        content_guard: index.content_guard.clone(),
    }))
}

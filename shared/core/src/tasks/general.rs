//! Pulp's `general_delete`: removing a repository, remote or distribution runs as an immediate
//! task holding the resource, so that it waits for work already running on it.

use serde_json::json;

use super::{Dispatch, TaskContext, TaskFuture, TaskRegistry};
use crate::CoreError;
use crate::hrefs::Kind;
use crate::models::{distribution, remote, repository};

pub const DELETE_HANDLER: &str = super::routes::GENERAL_DELETE;

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(DELETE_HANDLER, delete);
}

/// The task that deletes one resource of `kind` (a repository, remote or distribution).
pub fn delete_dispatch(kind: Kind, id: &str) -> Dispatch {
    Dispatch::new(
        "pulpcore.app.tasks.base.general_delete",
        DELETE_HANDLER,
        json!({"kind": kind.prn_model(), "id": id}),
    )
    .exclusive([kind.prn(id)])
    .immediate()
}

fn delete(ctx: TaskContext) -> TaskFuture {
    Box::pin(async move {
        let id = ctx.task.args["id"].as_str().unwrap_or_default().to_string();
        let db = &ctx.core.db;
        let kind = ctx.task.args["kind"]
            .as_str()
            .and_then(Kind::from_prn_model);
        match kind {
            Some(k) if Kind::REPOSITORIES.contains(&k) => repository::delete(db, &id).await?,
            Some(k) if Kind::REMOTES.contains(&k) => remote::delete(db, &id).await?,
            Some(k) if Kind::DISTRIBUTIONS.contains(&k) => {
                let d = distribution::get(db, &id).await?;
                distribution::delete(db, &id).await?;
                // A push repository lives and dies with its distribution, as in Pulp.
                let push = d.repository_type.as_deref().map(Kind::repository)
                    == Some(Kind::ContainerPushRepository);
                if let (Some(repo), true) = (&d.repository_id, push) {
                    repository::delete(db, repo).await?;
                }
            }
            other => {
                return Err(CoreError::Internal(format!(
                    "cannot delete resources of kind {other:?}"
                )));
            }
        }
        Ok(None)
    })
}

//! Pulp's `general_delete`: removing a repository, remote or distribution runs as an immediate
//! task holding the resource, so that it waits for work already running on it.

use serde_json::json;

use super::{Dispatch, TaskContext, TaskFuture, TaskRegistry};
use crate::CoreError;
use crate::hrefs::Kind;
use crate::models::{distribution, remote, repository};

pub const DELETE_HANDLER: &str = "general.delete";

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
        match ctx.task.args["kind"].as_str() {
            Some(k) if k == Kind::FileRepository.prn_model() => repository::delete(db, &id).await?,
            Some(k) if k == Kind::FileRemote.prn_model() => remote::delete(db, &id).await?,
            Some(k) if k == Kind::FileDistribution.prn_model() => {
                distribution::delete(db, &id).await?
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

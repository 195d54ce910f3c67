//! Pulp's `general_delete`: removing a repository, remote or distribution runs as an immediate
//! task holding the resource, so that it waits for work already running on it.

use super::args::GeneralDelete;
use super::{Dispatch, TaskContext, TaskFuture, TaskRegistry};
use crate::CoreError;
use crate::hrefs::{FS_EXPORTER, Kind, PULP_EXPORTER};
use crate::models::{acs, distribution, exporter, remote, repository, role_assignment};
use crate::plugin::{self, Family, Role};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(delete);
}

/// The task that deletes one resource of `kind` (a repository, remote or distribution).
pub fn delete_dispatch(kind: Kind, id: &str) -> Dispatch {
    let args = GeneralDelete {
        kind: kind.prn_model.to_string(),
        id: id.to_string(),
    };
    Dispatch::new("pulpcore.app.tasks.base.general_delete", &args)
        .exclusive([kind.prn(id)])
        .immediate()
}

fn delete(ctx: TaskContext, args: GeneralDelete) -> TaskFuture {
    Box::pin(async move {
        let db = &ctx.core.db;
        let id = args.id;
        let Some(kind) = plugin::from_prn_model(&args.kind) else {
            return Err(CoreError::Internal(format!(
                "cannot delete resources of the unknown type {}",
                args.kind
            )));
        };
        match kind.family() {
            Family::Repository => repository::delete(db, &id).await?,
            Family::Remote => {
                // An ACS holds its remote, as Pulp protects it.
                if let Some(name) = acs::using_remote(db, &id).await? {
                    return Err(CoreError::Conflict(format!(
                        "The remote is used by the alternate content source '{name}'; delete that first."
                    )));
                }
                remote::delete(db, &id).await?
            }
            Family::Acs => acs::delete(db, &id).await?,
            Family::Other if kind == &PULP_EXPORTER || kind == &FS_EXPORTER => {
                exporter::delete(db, &id).await?
            }
            Family::Distribution => {
                let d = distribution::get(db, &id).await?;
                distribution::delete(db, &id).await?;
                // Some repositories live and die with their distribution (container push).
                let owned = matches!(
                    d.repository_kind.map(|k| k.role),
                    Some(Role::Repository {
                        owned_by_distribution: true
                    })
                );
                if let (Some(repo), true) = (&d.repository_id, owned) {
                    repository::delete(db, repo).await?;
                    role_assignment::forget_object(db, repo).await?;
                }
            }
            _ => {
                return Err(CoreError::Internal(format!(
                    "cannot delete resources of type {kind:?}"
                )));
            }
        }
        // Roles given on it go with it (an id is never reused, but the list stays clean).
        role_assignment::forget_object(db, &id).await?;
        Ok(None)
    })
}

//! Pulp's repair actions: `repair/` (every stored file of the domain) and a repository
//! version's `repair/`. Both take the same body and dispatch the same task.

use axum::response::Response;
use depot_core::repair::Scope;
use depot_core::tasks::Dispatch;
use depot_core::tasks::args::Repair;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::{ApiResult, AppState, Caller, CorrelationId, Fields, dispatched};

/// What to check.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Repair")]
pub struct RepairBody {
    /// Hash every stored file and compare it with its recorded sha256 (the default); otherwise
    /// only see that each file is there.
    #[serde(default)]
    pub verify_checksums: Option<bool>,
}

/// What a repair looks at: one version of a repository (its PRN, id and number), or the
/// whole domain in force.
pub enum Target<'a> {
    Version {
        repository_prn: String,
        repository_id: &'a str,
        number: i64,
    },
    Domain,
}

/// Dispatches the repair of `target` with the checks `fields` asks for. A version's repair
/// shares its repository (syncs wait, reads go on); the domain's runs one at a time.
pub async fn dispatch(
    state: &AppState,
    caller: &Caller,
    cid: &CorrelationId,
    fields: Fields,
    target: Target<'_>,
) -> ApiResult<Response> {
    let body: RepairBody = fields.parse()?;
    let verify_checksums = body.verify_checksums.unwrap_or(true);
    let d = match target {
        Target::Version {
            repository_prn,
            repository_id,
            number,
        } => Dispatch::new(
            "pulpcore.app.tasks.repository.repair_version",
            &Repair {
                scope: Scope::Version {
                    repository_id: repository_id.to_string(),
                    number,
                },
                verify_checksums,
            },
        )
        .shared(vec![repository_prn]),
        Target::Domain => Dispatch::new(
            "pulpcore.app.tasks.repository.repair_all_artifacts",
            &Repair {
                scope: Scope::Domain,
                verify_checksums,
            },
        )
        .exclusive(vec![format!("pdrn:{}:repair", depot_core::domain::id())]),
    };
    dispatched(state, d.requested_by(&caller.user.id, &cid.0)).await
}

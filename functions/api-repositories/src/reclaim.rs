//! `repositories/reclaim_space/`: Pulp's disk reclaim of some repositories (or all, `["*"]`),
//! keeping the files of the versions on the keep list. Checks the request, then dispatches the
//! task (`depot_core::reclaim`), which shares the repositories.

use axum::extract::State;
use axum::response::Response;
use depot_core::CoreError;
use depot_core::models::{repository, version};
use depot_core::plugin::Family;
use depot_core::reclaim::Repositories;
use depot_core::tasks::Dispatch;
use depot_core::tasks::args::ReclaimSpace;
use depot_http::{ApiResult, AppState, Caller, CorrelationId, Fields, dispatched};
use schemars::JsonSchema;
use serde::Deserialize;

pub const PATH: &str = "/pulp/api/v3/repositories/reclaim_space/";

/// The most repositories or kept versions one request names.
const MAX_REFS: usize = 1000;

/// What to reclaim.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReclaimSpaceBody {
    /// Will reclaim space for the specified list of repos. Use ['*'] to specify all repos.
    pub repo_hrefs: Vec<String>,
    /// Will exclude repo versions from space reclaim.
    pub repo_versions_keeplist: Option<Vec<String>>,
}

pub async fn reclaim(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    fields: Fields,
) -> ApiResult<Response> {
    caller.may_in(&state, PATH, "reclaim", vec![]).await?;
    let body: ReclaimSpaceBody = fields.parse()?;
    let keeplist = body.repo_versions_keeplist.unwrap_or_default();
    if body.repo_hrefs.len() > MAX_REFS || keeplist.len() > MAX_REFS {
        return Err(CoreError::invalid(format!("At most {MAX_REFS} hrefs may be named.")).into());
    }
    let field = "repo_hrefs";
    if body.repo_hrefs.is_empty() {
        return Err(CoreError::field(field, "Must not be [].").into());
    }
    let mut shared = Vec::new();
    let repositories = if body.repo_hrefs.iter().any(|h| h == "*") {
        if body.repo_hrefs.len() != 1 {
            return Err(
                CoreError::field(field, "Can not specify other HREFs when using '*'").into(),
            );
        }
        for r in repository::all_in_domain(&state.db).await? {
            shared.push(r.kind.prn(&r.id));
        }
        Repositories::All
    } else {
        let mut ids = Vec::new();
        for h in &body.repo_hrefs {
            let (kind, id) = depot_core::hrefs::resolve_family(Family::Repository, field, h)?;
            repository::get_of_type(&state.db, &id, kind.pulp_type)
                .await
                .map_err(|_| depot_core::hrefs::missing(field, h))?;
            shared.push(kind.prn(&id));
            ids.push(id);
        }
        Repositories::Some(ids)
    };
    let mut keep = Vec::new();
    for h in &keeplist {
        let v = version::resolve(&state.db, "repo_versions_keeplist", h, false).await?;
        shared.push(v.repository_kind.prn(&v.repository_id));
        keep.push((v.repository_id, v.number));
    }
    shared.sort();
    shared.dedup();
    let args = ReclaimSpace { repositories, keep };
    let d = Dispatch::new("pulpcore.app.tasks.reclaim_space.reclaim_space", &args)
        .shared(shared)
        .requested_by(&caller.user.id, &cid.0);
    dispatched(&state, d).await
}

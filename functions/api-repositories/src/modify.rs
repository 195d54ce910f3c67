//! `modify/`: add and remove content in a new version, for the repository types that have it
//! (`RepositoryType::MODIFY`; a type with its own rules for what comes along has not).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use depot_core::CoreError;
use depot_core::tasks::Dispatch;
use depot_core::tasks::args::RepositoryModify;
use depot_http::openapi::ApiDoc;
use depot_http::{ApiResult, AppState, Caller, CorrelationId, Fields, dispatched};
use schemars::JsonSchema;
use serde::Deserialize;

use depot_http::access::params;
use depot_http::plugin_api::RepositoryType;
use depot_http::plugin_api::repository::{acting_on, action, content_ids};

const MODIFY_TASK: &str = "pulpcore.app.tasks.repository.add_and_remove";

pub fn routes<P: RepositoryType>() -> Router<AppState> {
    Router::new().route(&format!("{}{{id}}/modify/", P::BASE), post(modify::<P>))
}

/// Content to add and remove in a new repository version.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepositoryAddRemoveContent {
    #[serde(default)]
    pub add_content_units: Option<Vec<String>>,
    #[serde(default)]
    pub remove_content_units: Option<Vec<String>>,
    #[serde(default)]
    pub base_version: Option<String>,
    #[serde(default)]
    pub overwrite: Option<bool>,
}

async fn modify<P: RepositoryType>(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let params = params(&fields);
    let repo = acting_on::<P>(&state, &caller, &id, "modify", params).await?;
    let body: RepositoryAddRemoveContent = fields.parse()?;
    let user = &caller.user;
    let add = content_ids::<P>(
        &state,
        "add_content_units",
        body.add_content_units.unwrap_or_default(),
    )
    .await?;
    let remove_all = body
        .remove_content_units
        .as_ref()
        .is_some_and(|r| r.iter().any(|h| h == "*"));
    if remove_all
        && body
            .remove_content_units
            .as_ref()
            .is_some_and(|r| r.len() > 1)
    {
        return Err(CoreError::field(
            "remove_content_units",
            "Cannot supply content units together with '*' (all content units).",
        )
        .into());
    }
    let remove = if remove_all {
        Vec::new()
    } else {
        content_ids::<P>(
            &state,
            "remove_content_units",
            body.remove_content_units.unwrap_or_default(),
        )
        .await?
    };
    // The base may be a version of another repository of the same type, as in Pulp.
    let (base_number, base_repository_id) = match body.base_version.as_deref() {
        Some(h) => {
            let v =
                depot_core::models::version::resolve(&state.db, "base_version", h, false).await?;
            if v.repository_type != P::PULP_TYPE {
                return Err(CoreError::field(
                    "base_version",
                    "The base version must be of a repository of the same type.",
                )
                .into());
            }
            let other = (v.repository_id != id).then_some(v.repository_id);
            (Some(v.number), other)
        }
        None => (None, None),
    };
    let args = RepositoryModify {
        repository_id: id,
        add,
        remove,
        remove_all,
        base_number,
        base_repository_id,
        overwrite: body.overwrite.unwrap_or(true),
    };
    let d = Dispatch::new(MODIFY_TASK, &args)
        .exclusive(vec![repo.prn()])
        .requested_by(&user.id, &cid.0);
    dispatched(&state, d).await
}

pub fn openapi<P: RepositoryType>(doc: &mut ApiDoc) {
    let modify_req = doc.schema::<RepositoryAddRemoveContent>();
    action::<P>(doc, "modify", "Modify repository content", modify_req);
}

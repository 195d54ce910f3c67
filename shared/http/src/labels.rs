//! The `set_label/` and `unset_label/` actions every labeled resource has.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use depot_core::hrefs::Kind;
use depot_core::labels::{self, Labeled};
use depot_core::models::SetLabelResponse;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};
use crate::{ApiResult, AppState, Caller, Fields};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLabel {
    pub key: String,
    pub value: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnsetLabel {
    pub key: String,
}

/// Routes `<base>{id}/set_label/` and `<base>{id}/unset_label/` for one labeled family,
/// whose objects are of `kind`. Each is a policy action: on the object for most families (it
/// must be visible, as a read), model- or domain-wide for content (Pulp's
/// `core.manage_content_labels`). Only objects of the domain in force are found.
pub fn routes(base: &str, what: Labeled, kind: Kind) -> Router<AppState> {
    let action = |name: &'static str| {
        let base = base.to_string();
        post(
            move |State(state): State<AppState>,
                  caller: Caller,
                  Path(id): Path<String>,
                  fields: Fields| async move {
                match what {
                    Labeled::Content => caller.may_in(&state, &base, name, vec![]).await?,
                    _ => caller.may(&state, &base, (kind, &id), name, vec![]).await?,
                }
                match name {
                    "set_label" => set(state, what, id, fields).await,
                    _ => unset(state, what, id, fields).await,
                }
            },
        )
    };
    Router::new()
        .route(&format!("{base}{{id}}/set_label/"), action("set_label"))
        .route(&format!("{base}{{id}}/unset_label/"), action("unset_label"))
}

async fn set(state: AppState, what: Labeled, id: String, fields: Fields) -> ApiResult<Response> {
    let body: SetLabel = fields.parse()?;
    labels::set(&state.db, what, &id, &body.key, body.value.clone()).await?;
    Ok(crate::json(
        StatusCode::CREATED,
        &SetLabelResponse {
            key: body.key,
            value: body.value,
        },
    ))
}

async fn unset(state: AppState, what: Labeled, id: String, fields: Fields) -> ApiResult<Response> {
    let body: UnsetLabel = fields.parse()?;
    let old = labels::unset(&state.db, what, &id, &body.key).await?;
    Ok(crate::json(
        StatusCode::CREATED,
        &SetLabelResponse {
            key: body.key,
            value: old,
        },
    ))
}

/// Documents the two actions; `href_param` is the detail path parameter, `prefix` the
/// operationId prefix (e.g. `repositories_file_file`).
pub fn openapi(doc: &mut ApiDoc, href_param: &str, prefix: &str, tag: &'static str) {
    let set_req = doc.schema::<SetLabel>();
    let unset_req = doc.schema::<UnsetLabel>();
    let resp = doc.schema::<SetLabelResponse>();
    for (action, req) in [("set_label", set_req), ("unset_label", unset_req)] {
        doc.add(
            Op::new(
                "post",
                format!("{{{href_param}}}{action}/"),
                format!("{prefix}_{action}"),
                tag,
            )
            .param(openapi::href_param(href_param))
            .body(req, JSON_FORM_MULTIPART)
            .response(201, Some(resp.clone())),
        );
    }
}

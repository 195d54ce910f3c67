//! `orphans/cleanup/`: dispatches the orphan cleanup task.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{delete, post};
use depot_core::CoreError;
use depot_core::plugin::{self, Family};
use depot_core::tasks::Dispatch;
use depot_core::tasks::args::OrphanCleanup;
use depot_http::openapi::{ApiDoc, JSON_FORM_MULTIPART, Op};
use depot_http::{ApiResult, AppState, Authenticated, CorrelationId, Fields, dispatched};
use schemars::JsonSchema;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pulp/api/v3/orphans/cleanup/", post(cleanup))
        .route("/pulp/api/v3/orphans/", delete(legacy_delete))
}

/// Which orphans to remove.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrphansCleanup {
    /// Only these content units (hrefs); all orphans when absent.
    pub content_hrefs: Option<Vec<String>>,
    /// Minutes an orphan is protected after its creation.
    #[schemars(range(min = 0, max = 2147483647))]
    pub orphan_protection_time: Option<i64>,
}

async fn cleanup(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    fields: Fields,
) -> ApiResult<Response> {
    let body: OrphansCleanup = fields.parse()?;
    if body.content_hrefs.as_ref().is_some_and(Vec::is_empty) {
        return Err(CoreError::field("content_hrefs", "Must not be [].").into());
    }
    let ids = match body.content_hrefs {
        Some(hrefs) => Some(
            hrefs
                .iter()
                .map(|h| {
                    let unit = plugin::of_family(Family::Content).find_map(|k| k.parse_ref(h));
                    unit.ok_or_else(|| {
                        CoreError::field("content_hrefs", format!("Invalid href: {h}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    dispatch(
        &state,
        user.id,
        cid.0,
        OrphanCleanup {
            orphan_protection_time: body.orphan_protection_time.map(|m| m.max(0) as u64),
            content_ids: ids,
        },
    )
    .await
}

async fn legacy_delete(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
) -> ApiResult<Response> {
    dispatch(&state, user.id, cid.0, OrphanCleanup::default()).await
}

async fn dispatch(
    state: &AppState,
    user: String,
    cid: String,
    args: OrphanCleanup,
) -> ApiResult<Response> {
    // Nothing may add content while orphans are judged: hold the whole domain.
    let d = Dispatch::new("pulpcore.app.tasks.orphan.orphan_cleanup", &args)
        .exclusive(vec![depot_core::domain::prn()])
        .requested_by(&user, &cid);
    dispatched(state, d).await
}

pub fn openapi(doc: &mut ApiDoc) {
    let req = doc.schema::<OrphansCleanup>();
    let async_op = doc.schema::<depot_core::models::AsyncOperationResponse>();
    doc.add(
        Op::new(
            "post",
            "/pulp/api/v3/orphans/cleanup/",
            "orphans_cleanup_cleanup",
            "Orphans: Cleanup",
        )
        .body(req, JSON_FORM_MULTIPART)
        .response(202, Some(async_op.clone())),
    );
    doc.add(
        Op::new(
            "delete",
            "/pulp/api/v3/orphans/",
            "orphans_delete",
            "Orphans",
        )
        .response(202, Some(async_op)),
    );
}

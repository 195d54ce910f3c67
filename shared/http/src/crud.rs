//! The REST skeleton of the resource families (repositories, remotes, distributions): routes,
//! read, update (PATCH and PUT) and delete written once over [`Resource`], each checked
//! against the type's access policy (what the caller may not see is not found; what they may
//! see but not do is forbidden), with the role actions on each object. Each family writes what
//! differs: how a page is listed, how one is created, and what an update checks before its
//! task is dispatched.

use std::future::Future;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::access::Object;
use depot_core::hrefs::Kind;
use depot_core::labels::Labeled;
use depot_core::models::list::Grantee;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::access::params;
use crate::{ApiResult, AppState, Caller, CorrelationId, Fields, QueryMap, dispatched};

/// One resource type of a family, as the generic handlers see it.
pub trait Resource: Send + Sync + 'static {
    /// The collection path, e.g. `/pulp/api/v3/remotes/file/file/`.
    const BASE: &'static str;
    const KIND: Kind;
    /// Which rows `set_label/` and `unset_label/` write (`None`: it has no labels).
    const LABELED: Option<Labeled>;
    /// Clients create and delete it (container push repositories come and go with their
    /// distribution, as in Pulp).
    const CREATABLE: bool = true;

    type Model: Send + Sync;
    type Response: Serialize + Send;
    /// The body of a create (and, by default, of a PUT).
    type Create: DeserializeOwned + JsonSchema;
    /// The body of a PATCH.
    type Patch: DeserializeOwned + JsonSchema;

    /// The resource `id` of this type; another type's is not found.
    fn find(state: &AppState, id: &str) -> impl Future<Output = ApiResult<Self::Model>> + Send;

    /// The resource as clients see it.
    fn show(
        state: &AppState,
        model: &Self::Model,
    ) -> impl Future<Output = ApiResult<Self::Response>> + Send;

    /// A page of the collection, filtered as `query` asks, and to the rows `scope` names
    /// when it names some (what the caller may see).
    fn list(
        state: AppState,
        query: QueryMap,
        scope: Option<Grantee>,
    ) -> impl Future<Output = ApiResult<Response>> + Send;

    /// Creates one; the caller's policy allowed it. Whoever makes the resource runs the
    /// creation hooks for it ([`Caller::created`], or in the task that makes it).
    fn create(
        state: AppState,
        caller: Caller,
        cid: CorrelationId,
        fields: Fields,
    ) -> impl Future<Output = ApiResult<Response>> + Send;

    /// The fields a PATCH sent.
    fn patch_body(fields: Fields) -> ApiResult<Map<String, Value>> {
        Ok(fields.parse_patch::<Self::Patch>()?.1)
    }

    /// The fields a PUT sent: all a create needs.
    fn put_body(fields: Fields) -> ApiResult<Map<String, Value>> {
        Ok(fields.parse_full::<Self::Create>()?.1)
    }

    /// Checks `changes` to resource `id` and dispatches the update task (or answers at once
    /// when nothing changes).
    fn update(
        state: AppState,
        caller: Caller,
        cid: CorrelationId,
        id: String,
        changes: Map<String, Value>,
    ) -> impl Future<Output = ApiResult<Response>> + Send;
}

/// The collection and detail routes of `R`, with its label actions.
pub fn routes<R: Resource>() -> Router<AppState> {
    let detail_path = format!("{}{{id}}/", R::BASE);
    let detail = get(read::<R>).patch(partial_update::<R>).put(update::<R>);
    let roles = crate::object_roles::routes(R::BASE, R::KIND);
    if !R::CREATABLE {
        return Router::new()
            .route(R::BASE, get(list::<R>))
            .route(&detail_path, detail)
            .merge(roles);
    }
    let router = Router::new()
        .route(R::BASE, get(list::<R>).post(create::<R>))
        .route(&detail_path, detail.delete(delete::<R>))
        .merge(roles);
    match R::LABELED {
        Some(labeled) => router.merge(crate::labels::routes(R::BASE, labeled, R::KIND)),
        None => router,
    }
}

/// The policy check of `action` on object `id` of `R`, which must exist and be visible to the
/// caller (404 otherwise), with the objects the body names (`params`).
async fn check<R: Resource>(
    state: &AppState,
    caller: &Caller,
    id: &str,
    action: &str,
    params: Vec<(&'static str, Object)>,
) -> ApiResult<R::Model> {
    let model = R::find(state, id).await?;
    caller
        .may(state, R::BASE, (R::KIND, id), action, params)
        .await?;
    Ok(model)
}

async fn list<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    caller.may_in(&state, R::BASE, "list", vec![]).await?;
    let scope = caller.scope(&state, R::KIND).await?;
    R::list(state, query, scope).await
}

async fn create<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    fields: Fields,
) -> ApiResult<Response> {
    caller
        .may_in(&state, R::BASE, "create", params(&fields))
        .await?;
    R::create(state, caller, cid, fields).await
}

async fn read<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let model = check::<R>(&state, &caller, &id, "retrieve", vec![]).await?;
    crate::shaped(&query, &R::show(&state, &model).await?)
}

async fn partial_update<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    check::<R>(&state, &caller, &id, "partial_update", params(&fields)).await?;
    let changes = R::patch_body(fields)?;
    R::update(state, caller, cid, id, changes).await
}

async fn update<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    check::<R>(&state, &caller, &id, "update", params(&fields)).await?;
    let changes = R::put_body(fields)?;
    R::update(state, caller, cid, id, changes).await
}

/// Deleting runs as Pulp's `general_delete` task, holding the resource.
async fn delete<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    check::<R>(&state, &caller, &id, "destroy", vec![]).await?;
    let d = depot_core::tasks::general::delete_dispatch(R::KIND, &id)
        .requested_by(&caller.user.id, &cid.0);
    dispatched(&state, d).await
}

/// A PUT without one of `required` is a 400 naming it, as DRF answers.
pub fn require(changes: &Map<String, Value>, required: &[&str]) -> ApiResult<()> {
    for f in required {
        if !changes.contains_key(*f) {
            return Err(depot_core::CoreError::field(f, "This field is required.").into());
        }
    }
    Ok(())
}

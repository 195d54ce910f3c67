//! The REST skeleton of the resource families (repositories, remotes, distributions): routes,
//! read, update (PATCH and PUT) and delete written once over [`Resource`]. Each family writes
//! what differs: how a page is listed, how one is created, and what an update checks before its
//! task is dispatched.

use std::future::Future;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::hrefs::Kind;
use depot_core::labels::Labeled;
use depot_core::users::User;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{
    ApiResult, AppState, Authenticated, CorrelationId, Detail, Fields, QueryMap, dispatched,
};

/// One resource type of a family, as the generic handlers see it.
pub trait Resource: Send + Sync + 'static {
    /// The collection path, e.g. `/pulp/api/v3/remotes/file/file/`.
    const BASE: &'static str;
    const KIND: Kind;
    /// Which rows `set_label/` and `unset_label/` write.
    const LABELED: Labeled;
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

    /// A page of the collection, filtered as `query` asks.
    fn list(state: AppState, query: QueryMap) -> impl Future<Output = ApiResult<Response>> + Send;

    fn create(
        state: AppState,
        user: User,
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
        user: User,
        cid: CorrelationId,
        id: String,
        changes: Map<String, Value>,
    ) -> impl Future<Output = ApiResult<Response>> + Send;
}

/// The collection and detail routes of `R`, with its label actions.
pub fn routes<R: Resource>() -> Router<AppState> {
    let detail_path = format!("{}{{id}}/", R::BASE);
    let detail = get(read::<R>).patch(partial_update::<R>).put(update::<R>);
    if !R::CREATABLE {
        return Router::new()
            .route(R::BASE, get(list::<R>))
            .route(&detail_path, detail);
    }
    Router::new()
        .route(R::BASE, get(list::<R>).post(create::<R>))
        .route(&detail_path, detail.delete(delete::<R>))
        .merge(crate::labels::routes(R::BASE, R::LABELED))
}

async fn list<R: Resource>(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    R::list(state, query).await
}

async fn create<R: Resource>(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    fields: Fields,
) -> ApiResult<Response> {
    R::create(state, user, cid, fields).await
}

async fn read<R: Resource>(
    State(state): State<AppState>,
    Detail { id, query }: Detail,
) -> ApiResult<Response> {
    let model = R::find(&state, &id).await?;
    crate::shaped(&query, &R::show(&state, &model).await?)
}

async fn partial_update<R: Resource>(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let changes = R::patch_body(fields)?;
    R::update(state, user, cid, id, changes).await
}

async fn update<R: Resource>(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let changes = R::put_body(fields)?;
    R::update(state, user, cid, id, changes).await
}

/// Deleting runs as Pulp's `general_delete` task, holding the resource.
async fn delete<R: Resource>(
    State(state): State<AppState>,
    Authenticated(user): Authenticated,
    cid: CorrelationId,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    R::find(&state, &id).await?;
    let d =
        depot_core::tasks::general::delete_dispatch(R::KIND, &id).requested_by(&user.id, &cid.0);
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

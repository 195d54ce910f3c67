//! A repository type (`repositories/<plugin>/<type>/`): what differs between types, and the
//! helpers a type's own actions (`sync/`, `tag/`, ...) share. The `api-repositories` crate
//! serves the rest once for every type.

use axum::response::Response;
use depot_core::hrefs::Kind;
use depot_core::models::repository::{self, NewRepository, Repository};
use depot_core::models::{AsyncOperationResponse, content, remote};
use depot_core::tasks::{Dispatch, TaskArgs};
use depot_core::users::User;
use depot_core::{CoreError, CoreResult};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::openapi::{ApiDoc, JSON_FORM_MULTIPART, Op};
use crate::{ApiResult, AppState, Caller, CorrelationId, dispatched};

pub trait RepositoryType: Send + Sync + 'static {
    const PULP_TYPE: &'static str;
    const KIND: Kind;
    /// The remote type it syncs from, if it has a `remote` field.
    const REMOTE: Option<Kind>;
    /// The content types it holds (content hrefs given to its actions must be one of these).
    const CONTENT: &'static [Kind];
    /// Push repositories are made by the registry on first push, never through this API.
    const CREATABLE: bool;
    /// It has `modify/` (add and remove content as sent); types with their own rules for what
    /// comes along (container's recursive `add/`) have not.
    const MODIFY: bool = true;
    /// List path, e.g. `/pulp/api/v3/repositories/file/file/`.
    const BASE: &'static str;
    /// operationId prefix, e.g. `repositories_file_file`.
    const PREFIX: &'static str;
    /// Detail path parameter, e.g. `file_file_repository_href`.
    const HREF_PARAM: &'static str;
    const VERSION_HREF_PARAM: &'static str;
    const TAG: &'static str;
    const VERSIONS_TAG: &'static str;

    type Create: DeserializeOwned + JsonSchema;
    type Patch: DeserializeOwned + JsonSchema;
    type Response: Serialize + JsonSchema + Send;

    fn response(repo: &Repository) -> Self::Response;

    /// Sets the type's own defaults on a repository about to be created.
    fn defaults(_new: &mut NewRepository) {}
}

/// The repository `id` of type `T`; another type's repository is not found.
pub async fn find<T: RepositoryType>(state: &AppState, id: &str) -> ApiResult<Repository> {
    Ok(repository::get_of_type(&state.db, id, T::PULP_TYPE).await?)
}

/// Resolves a remote reference to its id, checking it exists and is of the type `T` syncs from.
pub async fn remote_id<T: RepositoryType>(state: &AppState, href: &str) -> CoreResult<String> {
    let kind = T::REMOTE.ok_or_else(|| CoreError::field("remote", "Unexpected field"))?;
    let id = depot_core::hrefs::resolve(kind, "remote", href)?;
    remote::get(&state.db, &id)
        .await
        .map_err(|_| depot_core::hrefs::missing("remote", href))?;
    Ok(id)
}

/// Resolves content references of the types `T` holds, refusing unknown ones.
pub async fn content_ids<T: RepositoryType>(
    state: &AppState,
    field: &str,
    hrefs: Vec<String>,
) -> CoreResult<Vec<String>> {
    let foreign: Vec<&String> = hrefs
        .iter()
        .filter(|h| depot_core::hrefs::in_other_domain(h))
        .collect();
    if !foreign.is_empty() {
        let name = depot_core::domain::current().name;
        return Err(CoreError::field(
            field,
            format!("Content units are not a part of the current domain {name}: {foreign:?}"),
        ));
    }
    let mut ids = Vec::with_capacity(hrefs.len());
    for h in hrefs {
        let found = T::CONTENT
            .iter()
            .find_map(|k| Some((k.parse_ref(&h)?, k.pulp_type)));
        let Some((id, pulp_type)) = found else {
            return Err(depot_core::hrefs::resolve(T::CONTENT[0], field, &h).unwrap_err());
        };
        if !content::exists(&state.db, &id, pulp_type).await? {
            return Err(depot_core::hrefs::missing(field, &h));
        }
        ids.push(id);
    }
    Ok(ids)
}

/// The repository `id` of type `T`, on which the caller may do `action` (a repository
/// action such as `sync` or `modify`) with the objects the body names (`params`, from
/// [`crate::access::params`]).
pub async fn acting_on<T: RepositoryType>(
    state: &AppState,
    caller: &Caller,
    id: &str,
    action: &str,
    params: Vec<(&'static str, depot_core::access::Object)>,
) -> ApiResult<Repository> {
    let repo = find::<T>(state, id).await?;
    caller
        .may(state, T::BASE, (T::KIND, id), action, params)
        .await?;
    Ok(repo)
}

/// The remote a sync uses: the one sent, else the repository's.
pub async fn sync_remote<T: RepositoryType>(
    state: &AppState,
    repo: &Repository,
    sent: Option<&str>,
) -> ApiResult<String> {
    match sent {
        Some(h) => Ok(remote_id::<T>(state, h).await?),
        None => repo.remote_id.clone().ok_or_else(|| {
            CoreError::field(
                "remote",
                "A remote must be specified, or the repository must have one.",
            )
            .into()
        }),
    }
}

/// Dispatches a sync of `repo` from the remote `remote_id`: the task holds the repository and
/// shares the remote with other syncs from it.
pub async fn dispatch_sync<T: RepositoryType>(
    state: &AppState,
    (user, cid): (&User, &CorrelationId),
    repo: &Repository,
    remote_id: &str,
    name: &'static str,
    args: impl TaskArgs,
) -> ApiResult<Response> {
    let shared: Vec<String> = T::REMOTE.iter().map(|k| k.prn(remote_id)).collect();
    let d = Dispatch::new(name, &args)
        .exclusive(vec![repo.prn()])
        .shared(shared)
        .requested_by(&user.id, &cid.0);
    dispatched(state, d).await
}

/// A repository action (`POST <repository>/<action>/` answered by a task) in the document.
pub fn action<T: RepositoryType>(
    doc: &mut ApiDoc,
    action: &str,
    summary: &'static str,
    body: Value,
) {
    let async_op = doc.schema::<AsyncOperationResponse>();
    doc.add(
        Op::new(
            "post",
            format!("{{{}}}{action}/", T::HREF_PARAM),
            format!("{}_{action}", T::PREFIX),
            T::TAG,
        )
        .summary(summary)
        .param(crate::openapi::href_param(T::HREF_PARAM))
        .body(body, JSON_FORM_MULTIPART)
        .response(202, Some(async_op)),
    );
}

/// The value of an optional string field as sent (null and absent are both `None`).
pub fn text(raw: &serde_json::Map<String, Value>, field: &str) -> Option<String> {
    raw.get(field).and_then(Value::as_str).map(str::to_string)
}

//! The registry API under `/v2/` (OCI distribution spec 1.1, Docker Registry HTTP API v2).
//! Repository names contain slashes, so one handler takes every `/v2/` path and routes it by
//! its suffix (`/manifests/<ref>`, `/blobs/<digest>`, `/blobs/uploads/...`, `/tags/list`).
//!
//! Access follows Pulp with token auth disabled: credentials of Depot users for every push,
//! anonymous pulls of distributions that are not private, and Pulp's container permissions
//! for the rest (`access.rs`).

mod access;
mod blobs;
mod error;
mod listing;
mod manifests;
mod pull_through;
mod uploads;

use access::Asker;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use depot_container::store::{self, Repo};
use depot_container::{Digest, RegistryError, names};
use depot_core::users::User;
use depot_http::AppState;

pub use error::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2", any(handle))
        .route("/v2/", any(handle))
        .route("/v2/{*rest}", any(handle))
}

/// What a `/v2/` path names.
#[derive(Debug, PartialEq)]
enum Route {
    Base,
    Catalog,
    Tags(String),
    Manifest(String, String),
    Blob(String, String),
    UploadStart(String),
    Upload(String, String),
    Referrers(String, String),
}

impl Route {
    /// With domains on, a repository name starts with its domain (`<domain>/<base_path>`, as
    /// pulp_container names them): the domain, and the route with the name inside it.
    fn split_domain(self) -> Option<(String, Route)> {
        let split = |name: String| -> Option<(String, String)> {
            let (domain, rest) = name.split_once('/')?;
            Some((domain.to_string(), rest.to_string()))
        };
        Some(match self {
            Route::Base | Route::Catalog => return None,
            Route::Tags(n) => split(n).map(|(d, n)| (d, Route::Tags(n)))?,
            Route::Manifest(n, r) => split(n).map(|(d, n)| (d, Route::Manifest(n, r)))?,
            Route::Blob(n, r) => split(n).map(|(d, n)| (d, Route::Blob(n, r)))?,
            Route::UploadStart(n) => split(n).map(|(d, n)| (d, Route::UploadStart(n)))?,
            Route::Upload(n, r) => split(n).map(|(d, n)| (d, Route::Upload(n, r)))?,
            Route::Referrers(n, r) => split(n).map(|(d, n)| (d, Route::Referrers(n, r)))?,
        })
    }
}

/// A repository's path under `/v2/` as clients name it: with its domain when URLs carry them.
pub(crate) fn v2_path(name: &str) -> String {
    format!("/v2/{}{name}", depot_core::domain::segment())
}

fn route(path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/v2")?.trim_start_matches('/');
    if rest.is_empty() {
        return Some(Route::Base);
    }
    if rest == "_catalog" {
        return Some(Route::Catalog);
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some(Route::Tags(name.to_string()));
    }
    if let Some(name) = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"))
    {
        return Some(Route::UploadStart(name.to_string()));
    }
    if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
        return Some(Route::Upload(name.to_string(), id.to_string()));
    }
    if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
        return Some(Route::Blob(name.to_string(), digest.to_string()));
    }
    if let Some((name, digest)) = rest.rsplit_once("/referrers/") {
        return Some(Route::Referrers(name.to_string(), digest.to_string()));
    }
    if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        return Some(Route::Manifest(name.to_string(), reference.to_string()));
    }
    None
}

async fn handle(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let mut r = match dispatch(&state, &parts, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    r.headers_mut().insert(
        "Docker-Distribution-Api-Version",
        HeaderValue::from_static("registry/2.0"),
    );
    r
}

async fn dispatch(state: &AppState, parts: &Parts, body: Body) -> Result<Response> {
    let path = percent_encoding::percent_decode_str(parts.uri.path()).decode_utf8_lossy();
    let Some(route) = route(&path) else {
        return Err(RegistryError::NameUnknown(path.into_owned()).into());
    };
    if !state.settings.domain_enabled {
        return serve(state, parts, body, route).await;
    }
    let route = match route {
        Route::Base | Route::Catalog => route,
        named => match named.split_domain() {
            Some((name, route)) => {
                let found = match depot_http::domains::named(state, &name, parts).await {
                    Ok(found) => found,
                    Err(depot_core::CoreError::Unauthenticated(_)) => {
                        return Err(RegistryError::Unauthorized.into());
                    }
                    Err(e) => return Err(e.into()),
                };
                let Some(found) = found else {
                    return Err(RegistryError::NameUnknown(path.into_owned()).into());
                };
                return depot_core::domain::within(found, serve(state, parts, body, route)).await;
            }
            None => return Err(RegistryError::NameUnknown(path.into_owned()).into()),
        },
    };
    serve(state, parts, body, route).await
}

/// Serves `route` in the domain in force.
async fn serve(state: &AppState, parts: &Parts, body: Body, route: Route) -> Result<Response> {
    let asker = Asker::of(state, caller(state, parts).await?).await?;
    let m = &parts.method;
    let query = parts.uri.query().unwrap_or("");
    match route {
        Route::Base => {
            // Clients learn here that credentials are wanted (a 401 with a Basic challenge),
            // and check the ones they have.
            if asker.user().is_none() {
                return Err(RegistryError::Unauthorized.into());
            }
            Ok(json_response(StatusCode::OK, "{}"))
        }
        Route::Catalog if m == Method::GET => listing::catalog(state, &asker, query).await,
        Route::Tags(name) if m == Method::GET => {
            let repo = pull_repo(state, &name, &asker).await?;
            listing::tags(state, &repo, query).await
        }
        Route::Manifest(name, reference) => {
            names::validate_name(&name)?;
            match *m {
                Method::GET | Method::HEAD => {
                    let repo = pull_repo(state, &name, &asker).await?;
                    if repo.remote_id.is_some() {
                        pull_through::manifest(state, &repo, &reference, parts).await
                    } else {
                        manifests::get(state, &repo, &reference, parts).await
                    }
                }
                Method::PUT => {
                    let (user, before) = asker.pusher(state, &name).await?;
                    let r = manifests::put(state, &user, &name, &reference, parts, body).await?;
                    before.settle(state, &user, &name).await?;
                    Ok(r)
                }
                Method::DELETE => {
                    let (user, _) = asker.pusher(state, &name).await?;
                    let repo = pull_repo(state, &name, &asker).await?;
                    manifests::delete(state, &user, &repo, &reference).await
                }
                _ => Ok(method_not_allowed()),
            }
        }
        Route::Blob(name, digest) => {
            names::validate_name(&name)?;
            let digest: Digest = digest.parse()?;
            match *m {
                Method::GET | Method::HEAD => {
                    let repo = pull_repo(state, &name, &asker).await?;
                    blobs::get(state, &repo, &digest, parts).await
                }
                Method::DELETE => {
                    let (user, _) = asker.pusher(state, &name).await?;
                    let repo = pull_repo(state, &name, &asker).await?;
                    blobs::delete(state, &user, &repo, &digest).await
                }
                _ => Ok(method_not_allowed()),
            }
        }
        Route::Referrers(name, digest) if m == Method::GET => {
            let repo = pull_repo(state, &name, &asker).await?;
            manifests::referrers(state, &repo, &digest.parse()?, query).await
        }
        Route::UploadStart(name) if m == Method::POST => {
            names::validate_name(&name)?;
            let (user, before) = asker.pusher(state, &name).await?;
            let r = uploads::start(state, &user, &name, query, body).await?;
            before.settle(state, &user, &name).await?;
            Ok(r)
        }
        Route::Upload(name, id) => {
            names::validate_name(&name)?;
            asker.pusher(state, &name).await?;
            let repo = store::find(&state.db, &name)
                .await?
                .ok_or(RegistryError::BlobUploadUnknown)?;
            match *m {
                Method::PATCH => uploads::patch(state, &repo, &id, parts, body).await,
                Method::PUT => uploads::finish(state, &repo, &id, query, body).await,
                Method::GET | Method::HEAD => uploads::status(state, &repo, &id).await,
                Method::DELETE => uploads::cancel(state, &repo, &id).await,
                _ => Ok(method_not_allowed()),
            }
        }
        _ => Ok(method_not_allowed()),
    }
}

/// The user behind the request's credentials; `None` when there are none. Wrong credentials
/// are refused rather than treated as anonymous.
async fn caller(state: &AppState, parts: &Parts) -> Result<Option<User>> {
    depot_http::auth::signed_in(state, &parts.method, &parts.headers, &parts.extensions)
        .await
        .map_err(|_| RegistryError::Unauthorized.into())
}

/// The caller, when they may read private content and fill caches.
fn reader(user: Option<&User>) -> Option<&User> {
    user.filter(|u| u.permitted().is_ok())
}

/// A repository the caller may pull from (a pull-through cache's, made on first pull).
async fn pull_repo(state: &AppState, name: &str, asker: &Asker) -> Result<Repo> {
    names::validate_name(name)?;
    let repo = match store::find(&state.db, name).await? {
        Some(r) => Some(r),
        None => pull_through::open(state, name, reader(asker.user())).await?,
    };
    match repo {
        Some(r) if asker.may_pull(state, &r).await? => Ok(r),
        Some(_) if asker.user().is_none() => Err(RegistryError::Unauthorized.into()),
        Some(_) => Err(RegistryError::Denied.into()),
        None => Err(RegistryError::NameUnknown(name.to_string()).into()),
    }
}

/// Removes content from a repository through the remove task (run at once when the repository
/// is free) and answers 202, as the spec asks of deletes.
async fn remove(
    state: &AppState,
    user: &User,
    repo: &Repo,
    content_ids: Vec<String>,
) -> Result<Response> {
    let args = depot_container::plugin::Remove {
        repository_id: repo.repository_id.clone(),
        content_ids,
        ..Default::default()
    };
    let name = "pulp_container.app.tasks.recursive_remove_content";
    let d = depot_core::tasks::Dispatch::new(name, &args)
        .exclusive([repo.prn()])
        .immediate()
        .requested_by(&user.id, "");
    depot_core::tasks::dispatch(state, d).await?;
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::ACCEPTED;
    Ok(r)
}

fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn method_not_allowed() -> Response {
    let mut r = Error(RegistryError::Unsupported("method not allowed here".into())).into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/v2/"), Some(Route::Base));
        assert_eq!(route("/v2"), Some(Route::Base));
        assert_eq!(route("/v2/_catalog"), Some(Route::Catalog));
        assert_eq!(route("/v2/a/b/tags/list"), Some(Route::Tags("a/b".into())));
        assert_eq!(
            route("/v2/a/manifests/b/manifests/v1"),
            Some(Route::Manifest("a/manifests/b".into(), "v1".into()))
        );
        assert_eq!(
            route("/v2/lib/x/blobs/uploads/"),
            Some(Route::UploadStart("lib/x".into()))
        );
        assert_eq!(
            route("/v2/lib/x/blobs/uploads/abc"),
            Some(Route::Upload("lib/x".into(), "abc".into()))
        );
        assert_eq!(
            route("/v2/lib/x/blobs/sha256:00"),
            Some(Route::Blob("lib/x".into(), "sha256:00".into()))
        );
        assert_eq!(
            route("/v2/lib/x/referrers/sha256:00"),
            Some(Route::Referrers("lib/x".into(), "sha256:00".into()))
        );
        assert_eq!(route("/v2/nothing"), None);
    }
}

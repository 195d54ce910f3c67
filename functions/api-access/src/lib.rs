//! Who may sign in, how they are grouped, and what they may do: Pulp's `users/`, `groups/`
//! (with `groups/<id>/users/`), `roles/`, and the roles given to each user and group
//! (`users/<id>/roles/`, `groups/<id>/roles/`), the access policies (`access_policies/`),
//! `login/` (sessions, and what users change about themselves), and the content guards that
//! decide who may fetch what a distribution serves (`contentguards/`), and the domains
//! tenants live in (`domains/`).

mod access_policies;
mod assignments;
mod content_guards;
mod domains;
mod groups;
mod login;
mod roles;
mod users;

use axum::Router;
use depot_http::AppState;
use depot_http::openapi::ApiDoc;

pub fn router() -> Router<AppState> {
    users::routes()
        .merge(groups::routes())
        .merge(roles::routes())
        .merge(assignments::routes())
        .merge(access_policies::routes())
        .merge(login::routes())
        .merge(content_guards::routes())
        .merge(domains::routes())
}

pub use domains::register_tasks;

pub fn openapi(doc: &mut ApiDoc) {
    users::openapi(doc);
    groups::openapi(doc);
    roles::openapi(doc);
    assignments::openapi(doc);
    access_policies::openapi(doc);
    login::openapi(doc);
    content_guards::openapi(doc);
    domains::openapi(doc);
}

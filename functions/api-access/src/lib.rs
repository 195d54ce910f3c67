//! Who may sign in, and how they are grouped: Pulp's `users/` and `groups/` (with
//! `groups/<id>/users/`). Only superusers reach them until roles exist.

mod groups;
mod users;

use axum::Router;
use depot_http::AppState;
use depot_http::openapi::ApiDoc;

pub fn router() -> Router<AppState> {
    users::routes().merge(groups::routes())
}

pub fn openapi(doc: &mut ApiDoc) {
    users::openapi(doc);
    groups::openapi(doc);
}

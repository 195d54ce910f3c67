//! `content/<plugin>/<type>/`: the content endpoints of every plugin (file content, container
//! manifests, blobs and tags, python packages). Content is the family whose endpoints differ
//! most between types, so each plugin writes its own (see its `api::content`), over the helpers
//! of `depot_http::plugin_api::content`; this crate serves them together.

use axum::Router;
use depot_core::plugin::Family;
use depot_http::AppState;
use depot_http::openapi::ApiDoc;
use depot_http::plugin_api::{self, FamilyApi};

pub fn router() -> Router<AppState> {
    plugin_api::mount::<ContentFamily>(depot_plugins::visit_api)
}

pub fn openapi(doc: &mut ApiDoc) {
    plugin_api::document::<ContentFamily>(doc, depot_plugins::visit_api);
}

/// This family: only the plugins' own routes.
struct ContentFamily;

impl FamilyApi for ContentFamily {
    const FAMILY: Family = Family::Content;
}

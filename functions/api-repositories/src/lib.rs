//! Repositories of every type the plugins have (`repositories/<plugin>/<type>/`), with their
//! versions, labels and `modify/`, written once over [`RepositoryType`]; each type's own
//! actions (`sync/`, `tag/`, ...) come from its plugin.

mod crud;
mod modify;
mod reclaim;
mod versions;

use axum::Router;
use depot_core::models::AsyncOperationResponse;
use depot_core::plugin::Family;
use depot_core::tasks::TaskRegistry;
use depot_http::AppState;
use depot_http::openapi::ApiDoc;
use depot_http::plugin_api::{self, FamilyApi, RepositoryType};

const ALL: &str = "/pulp/api/v3/repositories/";
const VERSIONS: &str = "/pulp/api/v3/repository_versions/";

pub fn router() -> Router<AppState> {
    plugin_api::mount::<RepositoryFamily>(depot_plugins::visit_api)
        .route(ALL, axum::routing::get(crud::list_all))
        .route(VERSIONS, axum::routing::get(versions::list_all))
        .route(reclaim::PATH, axum::routing::post(reclaim::reclaim))
}

pub fn register_tasks(reg: &mut TaskRegistry) {
    crud::register_tasks(reg);
    versions::register_tasks(reg);
}

/// Adds this family's operations to the OpenAPI document.
pub fn openapi(doc: &mut ApiDoc) {
    plugin_api::document::<RepositoryFamily>(doc, depot_plugins::visit_api);
    let page = doc.paginated::<depot_core::models::repository::FileRepositoryResponse>();
    depot_http::openapi::generic_list(
        doc,
        (ALL, "repositories_list", "Repositories"),
        page,
        vec![],
    );
    let page = doc.paginated::<depot_core::models::version::RepositoryVersionResponse>();
    let mut filters = depot_http::openapi::list_params();
    for (f, kind) in [
        ("content", "string"),
        ("number", "integer"),
        ("number__gte", "integer"),
        ("number__lte", "integer"),
        ("pulp_created__gte", "string"),
        ("pulp_created__lte", "string"),
    ] {
        filters.push(depot_http::openapi::query_param(f, kind, f));
    }
    filters.push(depot_http::openapi::csv_param("content__in", "content__in"));
    doc.add(
        depot_http::openapi::Op::new(
            "get",
            VERSIONS,
            "repository_versions_list",
            "Repository Versions",
        )
        .params(filters)
        .response(200, Some(page)),
    );
    let body = doc.schema::<reclaim::ReclaimSpaceBody>();
    let task = doc.schema::<depot_core::models::AsyncOperationResponse>();
    doc.add(
        depot_http::openapi::Op::new(
            "post",
            reclaim::PATH,
            "repositories_reclaim_space_reclaim",
            "Repositories: Reclaim Space",
        )
        .body(body, depot_http::openapi::JSON_FORM_MULTIPART)
        .response(202, Some(task)),
    );
}

/// This family, as it serves each repository type.
struct RepositoryFamily;

impl FamilyApi for RepositoryFamily {
    const FAMILY: Family = Family::Repository;

    fn repository<T: RepositoryType>() -> Router<AppState> {
        let routes = crud::routes::<T>().merge(versions::routes::<T>());
        match T::MODIFY {
            true => routes.merge(modify::routes::<T>()),
            false => routes,
        }
    }

    fn document_repository<T: RepositoryType>(doc: &mut ApiDoc) {
        crud::openapi::<T>(doc);
        if T::MODIFY {
            modify::openapi::<T>(doc);
        }
        let async_op = doc.schema::<AsyncOperationResponse>();
        versions::openapi::<T>(doc, async_op);
    }
}

//! Repositories of every type: `repositories/file/file/`, `repositories/container/container/`
//! and `repositories/container/container-push/`, with their versions, labels and the actions
//! of each type. The shared operations are written once over [`types::RepositoryType`].

mod container;
mod crud;
mod file;
mod modify;
mod python;
pub mod types;
mod versions;

use axum::Router;
use depot_core::models::AsyncOperationResponse;
use depot_core::tasks::TaskRegistry;
use depot_http::AppState;
use depot_http::openapi::ApiDoc;

pub use file::SYNC_TASK;
pub use modify::MODIFY_TASK;
use types::{Container, ContainerPush, File, Python, RepositoryType};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(typed::<File>())
        .merge(typed::<Container>())
        .merge(typed::<ContainerPush>())
        .merge(typed::<Python>())
        .merge(modify::routes::<File>())
        .merge(modify::routes::<Python>())
        .merge(python::routes())
        .merge(file::routes())
        .merge(container::routes())
}

fn typed<P: RepositoryType>() -> Router<AppState> {
    crud::routes::<P>().merge(versions::routes::<P>())
}

pub fn register_tasks(reg: &mut TaskRegistry) {
    crud::register_tasks(reg);
    versions::register_tasks(reg);
}

/// Adds this family's operations to the OpenAPI document.
pub fn openapi(doc: &mut ApiDoc) {
    openapi_of::<File>(doc);
    file::openapi(doc);
    modify::openapi::<File>(doc);
    openapi_of::<Python>(doc);
    modify::openapi::<Python>(doc);
    python::openapi(doc);
    openapi_of::<Container>(doc);
    openapi_of::<ContainerPush>(doc);
    container::openapi(doc);
}

fn openapi_of<P: RepositoryType>(doc: &mut ApiDoc) {
    crud::openapi::<P>(doc);
    let async_op = doc.schema::<AsyncOperationResponse>();
    versions::openapi::<P>(doc, async_op);
}

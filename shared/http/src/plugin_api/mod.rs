//! What a content-type plugin gives the REST API: its types of each resource family (their
//! paths, OpenAPI names, request and response shapes) and the routes that are its own (a
//! repository type's actions, its content endpoints). A plugin crate describes them in one
//! function, `api::visit`, that shows each of them to an [`ApiVisitor`]; the family crates walk
//! every installed plugin with visitors of their own (to mount routes, write the OpenAPI
//! document, or render a row as its type shows it), so no family crate names a plugin.

pub mod acs;
pub mod content;
pub mod distribution;
pub mod publication;
pub mod remote;
pub mod repository;

use std::marker::PhantomData;

use axum::Router;
use depot_core::plugin::Family;

use crate::AppState;
use crate::openapi::ApiDoc;

pub use acs::AcsType;
pub use distribution::DistributionType;
pub use publication::PublicationType;
pub use remote::RemoteType;
pub use repository::RepositoryType;

/// Routes of a plugin's own under one family's path, with their part of the OpenAPI document.
#[derive(Clone, Copy)]
pub struct Routes {
    pub family: Family,
    pub router: fn() -> Router<AppState>,
    pub openapi: fn(&mut ApiDoc),
}

/// Shown each REST piece of a plugin in turn; each method does nothing unless overridden.
pub trait ApiVisitor {
    fn repository<T: RepositoryType>(&mut self) {}
    fn remote<T: RemoteType>(&mut self) {}
    fn distribution<T: DistributionType>(&mut self) {}
    fn publication<T: PublicationType>(&mut self) {}
    fn acs<T: AcsType>(&mut self) {}
    fn routes(&mut self, _routes: Routes) {}
}

/// How a resource-family crate serves the plugins' types of its family: the routes and the
/// OpenAPI operations of each type (the family's generic handlers for that type). Only the
/// methods of the family's own type are written; the plugins' own routes of the family are
/// added by [`mount`] and [`document`].
pub trait FamilyApi {
    const FAMILY: Family;
    fn repository<T: RepositoryType>() -> Router<AppState> {
        Router::new()
    }
    fn remote<T: RemoteType>() -> Router<AppState> {
        Router::new()
    }
    fn distribution<T: DistributionType>() -> Router<AppState> {
        Router::new()
    }
    fn publication<T: PublicationType>() -> Router<AppState> {
        Router::new()
    }
    fn acs<T: AcsType>() -> Router<AppState> {
        Router::new()
    }
    fn document_repository<T: RepositoryType>(_doc: &mut ApiDoc) {}
    fn document_remote<T: RemoteType>(_doc: &mut ApiDoc) {}
    fn document_distribution<T: DistributionType>(_doc: &mut ApiDoc) {}
    fn document_publication<T: PublicationType>(_doc: &mut ApiDoc) {}
    fn document_acs<T: AcsType>(_doc: &mut ApiDoc) {}
}

/// The routes of family `F` for every plugin `visit` shows (the list, `depot_plugins::visit_api`,
/// is passed in because this crate is below it).
pub fn mount<F: FamilyApi>(visit: fn(&mut Mount<F>)) -> Router<AppState> {
    let mut mount = Mount {
        router: Router::new(),
        family: PhantomData,
    };
    visit(&mut mount);
    mount.router
}

/// The OpenAPI operations of family `F` for every plugin `visit` shows.
pub fn document<'a, F: FamilyApi>(doc: &'a mut ApiDoc, visit: fn(&mut Document<'a, F>)) {
    visit(&mut Document {
        doc,
        family: PhantomData,
    });
}

/// The visitor of [`mount`].
pub struct Mount<F> {
    router: Router<AppState>,
    family: PhantomData<fn() -> F>,
}

impl<F> Mount<F> {
    fn merge(&mut self, routes: Router<AppState>) {
        self.router = std::mem::take(&mut self.router).merge(routes);
    }
}

impl<F: FamilyApi> ApiVisitor for Mount<F> {
    fn repository<T: RepositoryType>(&mut self) {
        self.merge(F::repository::<T>());
    }
    fn remote<T: RemoteType>(&mut self) {
        self.merge(F::remote::<T>());
    }
    fn distribution<T: DistributionType>(&mut self) {
        self.merge(F::distribution::<T>());
    }
    fn publication<T: PublicationType>(&mut self) {
        self.merge(F::publication::<T>());
    }
    fn acs<T: AcsType>(&mut self) {
        self.merge(F::acs::<T>());
    }
    fn routes(&mut self, routes: Routes) {
        if routes.family == F::FAMILY {
            self.merge((routes.router)());
        }
    }
}

/// The visitor of [`document`].
pub struct Document<'a, F> {
    doc: &'a mut ApiDoc,
    family: PhantomData<fn() -> F>,
}

impl<F: FamilyApi> ApiVisitor for Document<'_, F> {
    fn repository<T: RepositoryType>(&mut self) {
        F::document_repository::<T>(self.doc);
    }
    fn remote<T: RemoteType>(&mut self) {
        F::document_remote::<T>(self.doc);
    }
    fn distribution<T: DistributionType>(&mut self) {
        F::document_distribution::<T>(self.doc);
    }
    fn publication<T: PublicationType>(&mut self) {
        F::document_publication::<T>(self.doc);
    }
    fn acs<T: AcsType>(&mut self) {
        F::document_acs::<T>(self.doc);
    }
    fn routes(&mut self, routes: Routes) {
        if routes.family == F::FAMILY {
            (routes.openapi)(self.doc);
        }
    }
}

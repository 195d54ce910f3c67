//! The file plugin's REST API: its repository, remote, distribution and publication types,
//! the repository action `sync/`, and the file content endpoints.

pub mod acs;
pub mod content;
pub mod distributions;
pub mod publications;
pub mod remotes;
pub mod repositories;

use depot_core::plugin::Family;
use depot_http::plugin_api::{ApiVisitor, Routes};

/// Shows each REST piece of the file plugin to `v`.
pub fn visit<V: ApiVisitor>(v: &mut V) {
    v.repository::<repositories::Repositories>();
    v.remote::<remotes::Remotes>();
    v.distribution::<distributions::Distributions>();
    v.publication::<publications::Publications>();
    v.acs::<acs::Acs>();
    v.routes(Routes {
        family: Family::Repository,
        router: repositories::routes,
        openapi: repositories::openapi,
    });
    v.routes(Routes {
        family: Family::Content,
        router: content::routes,
        openapi: content::openapi,
    });
}

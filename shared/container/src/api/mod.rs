//! The container plugin's REST API: its repository, remote and distribution types (container
//! and push repositories, container and pull-through remotes and distributions), the
//! repository actions, and the read-only manifest, blob and tag lists.

pub mod content;
pub mod distributions;
pub mod remotes;
pub mod repositories;
pub mod repository_actions;

use depot_core::plugin::Family;
use depot_http::plugin_api::{ApiVisitor, Routes};

/// Shows each REST piece of the container plugin to `v`.
pub fn visit<V: ApiVisitor>(v: &mut V) {
    v.repository::<repositories::Repositories>();
    v.repository::<repositories::PushRepositories>();
    v.remote::<remotes::Remotes>();
    v.remote::<remotes::PullThroughRemotes>();
    v.distribution::<distributions::Distributions>();
    v.distribution::<distributions::PullThroughDistributions>();
    v.routes(Routes {
        family: Family::Repository,
        router: repository_actions::routes,
        openapi: repository_actions::openapi,
    });
    v.routes(Routes {
        family: Family::Content,
        router: content::routes,
        openapi: content::openapi,
    });
}

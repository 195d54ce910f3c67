//! Python distributions (`distributions/python/pypi/`).

use depot_core::config::Settings;
use depot_core::hrefs::Kind;
use depot_core::models::Labels;
use depot_core::models::distribution::{Distribution, FileDistributionResponse};
use depot_http::plugin_api::DistributionType;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Python distributions: package indexes.
pub struct Distributions;

impl DistributionType for Distributions {
    const PULP_TYPE: &'static str = "python.pypi";
    const KIND: Kind = &crate::plugin::DISTRIBUTION;
    const BASE: &'static str = "/pulp/api/v3/distributions/python/pypi/";
    const PREFIX: &'static str = "distributions_python_pypi";
    const HREF_PARAM: &'static str = "python_python_distribution_href";
    const TAG: &'static str = "Distributions: Pypi";
    const REPOSITORIES: &'static [Kind] = &[&crate::plugin::REPOSITORY];
    const PUBLICATION: Option<Kind> = Some(&crate::plugin::PUBLICATION);
    const REMOTE: Option<Kind> = Some(&crate::plugin::REMOTE);

    type Create = PythonDistribution;
    type Patch = PatchedPythonDistribution;
    type Response = PythonPythonDistributionResponse;

    fn response(
        c: FileDistributionResponse,
        d: &Distribution,
        _: Option<String>,
        s: &Settings,
    ) -> Self::Response {
        PythonPythonDistributionResponse {
            base_url: format!(
                "{}{}{}/",
                s.content_origin,
                depot_core::domain::pypi_root(),
                c.base_path
            ),
            allow_uploads: d.allow_uploads,
            remote: d
                .remote_id
                .as_deref()
                .map(|id| crate::plugin::REMOTE.href(id)),
            pulp_href: c.pulp_href,
            prn: c.prn,
            pulp_created: c.pulp_created,
            pulp_last_updated: c.pulp_last_updated,
            base_path: c.base_path,
            content_guard: c.content_guard,
            content_guard_prn: c.content_guard_prn,
            no_content_change_since: c.no_content_change_since,
            hidden: c.hidden,
            pulp_labels: c.pulp_labels,
            name: c.name,
            repository: c.repository,
            repository_version: c.repository_version,
            publication: d
                .publication_id
                .as_deref()
                .map(|id| crate::plugin::PUBLICATION.href(id)),
        }
    }
}

/// A python distribution: the index at `/pypi/<base_path>/simple/` of a repository (or one
/// version of it); with a `remote`, projects it lacks are fetched from that index.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PythonDistribution {
    pub name: String,
    pub base_path: String,
    pub content_guard: Option<String>,
    pub hidden: Option<bool>,
    pub pulp_labels: Option<Labels>,
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    /// A publication (pulp_python's deprecated way to fix the version served).
    pub publication: Option<String>,
    /// Whether twine may upload to it (default true).
    pub allow_uploads: Option<bool>,
    pub remote: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PatchedPythonDistribution {
    pub name: Option<String>,
    pub base_path: Option<String>,
    pub content_guard: Option<String>,
    pub hidden: Option<bool>,
    pub pulp_labels: Option<Labels>,
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    pub publication: Option<String>,
    pub allow_uploads: Option<bool>,
    pub remote: Option<String>,
}

/// A python distribution.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PythonPythonDistributionResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub base_path: String,
    /// Where the index is: `<origin>/pypi/<base_path>/` (`simple/` below it).
    pub base_url: String,
    pub content_guard: Option<String>,
    pub content_guard_prn: Option<String>,
    pub no_content_change_since: Option<String>,
    pub hidden: bool,
    pub pulp_labels: Labels,
    pub name: String,
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    pub publication: Option<String>,
    pub allow_uploads: bool,
    pub remote: Option<String>,
}

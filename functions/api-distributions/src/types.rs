//! The distribution types this family serves and what differs between them. The handlers in
//! `lib.rs` are written once over [`DistributionType`].

use depot_core::config::Settings;
use depot_core::hrefs::Kind;
use depot_core::models::Labels;
use depot_core::models::distribution::{Distribution, FileDistributionResponse};
use depot_core::{CoreError, CoreResult};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub trait DistributionType: Send + Sync + 'static {
    const PULP_TYPE: &'static str;
    const KIND: Kind;
    const BASE: &'static str;
    const PREFIX: &'static str;
    const HREF_PARAM: &'static str;
    const TAG: &'static str;
    /// The repository types it may serve (empty: it serves no repository).
    const REPOSITORIES: &'static [Kind];
    /// The publication type it may serve, if any.
    const PUBLICATION: Option<Kind>;
    /// The remote type of its `remote` field, if it has one.
    const REMOTE: Option<Kind>;

    type Create: DeserializeOwned + JsonSchema;
    type Patch: DeserializeOwned + JsonSchema;
    type Response: Serialize + JsonSchema + Send;

    /// The type's response; `namespace` is the href of the container namespace the
    /// distribution is in, for the types that have one.
    fn response(
        common: FileDistributionResponse,
        d: &Distribution,
        namespace: Option<String>,
        s: &Settings,
    ) -> Self::Response;

    /// The type's own rules for a base path.
    fn validate_base_path(_base_path: &str) -> CoreResult<()> {
        Ok(())
    }
}

pub struct File;

impl DistributionType for File {
    const PULP_TYPE: &'static str = "file.file";
    const KIND: Kind = &depot_file::DISTRIBUTION;
    const BASE: &'static str = "/pulp/api/v3/distributions/file/file/";
    const PREFIX: &'static str = "distributions_file_file";
    const HREF_PARAM: &'static str = "file_file_distribution_href";
    const TAG: &'static str = "Distributions: File";
    const REPOSITORIES: &'static [Kind] = &[&depot_file::REPOSITORY];
    const PUBLICATION: Option<Kind> = Some(&depot_file::PUBLICATION);
    const REMOTE: Option<Kind> = None;

    type Create = FileDistribution;
    type Patch = PatchedFileDistribution;
    type Response = FileDistributionResponse;

    fn response(
        common: FileDistributionResponse,
        _: &Distribution,
        _: Option<String>,
        _: &Settings,
    ) -> Self::Response {
        common
    }
}

/// A file distribution serving at most one of repository, repository_version and publication.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FileDistribution {
    pub name: String,
    pub base_path: String,
    pub content_guard: Option<String>,
    pub hidden: Option<bool>,
    pub pulp_labels: Option<Labels>,
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    pub publication: Option<String>,
    pub checkpoint: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PatchedFileDistribution {
    pub name: Option<String>,
    pub base_path: Option<String>,
    pub content_guard: Option<String>,
    pub hidden: Option<bool>,
    pub pulp_labels: Option<Labels>,
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    pub publication: Option<String>,
    pub checkpoint: Option<bool>,
}

/// Container base paths are registry repository names.
fn container_base_path(base_path: &str) -> CoreResult<()> {
    depot_container::names::validate_name(base_path).map_err(|_| {
        CoreError::field(
            "base_path",
            "Must be a valid container repository name: lowercase path components of \
             [a-z0-9] separated by '.', '_', '__' or '-', joined by '/'.",
        )
    })
}

/// Where the registry serves a container distribution: the content origin's host and the path.
fn registry_path(s: &Settings, base_path: &str) -> String {
    let host = s
        .content_origin
        .split_once("://")
        .map(|(_, h)| h)
        .unwrap_or(&s.content_origin)
        .trim_end_matches('/');
    format!("{host}/{base_path}")
}

pub struct Container;

impl DistributionType for Container {
    const PULP_TYPE: &'static str = "container.container";
    const KIND: Kind = &depot_container::plugin::DISTRIBUTION;
    const BASE: &'static str = "/pulp/api/v3/distributions/container/container/";
    const PREFIX: &'static str = "distributions_container_container";
    const HREF_PARAM: &'static str = "container_container_distribution_href";
    const TAG: &'static str = "Distributions: Container";
    const REPOSITORIES: &'static [Kind] = &[
        &depot_container::plugin::REPOSITORY,
        &depot_container::plugin::PUSH_REPOSITORY,
    ];
    const PUBLICATION: Option<Kind> = None;
    const REMOTE: Option<Kind> = None;

    type Create = ContainerDistribution;
    type Patch = PatchedContainerDistribution;
    type Response = ContainerDistributionResponse;

    fn response(
        c: FileDistributionResponse,
        d: &Distribution,
        namespace: Option<String>,
        s: &Settings,
    ) -> Self::Response {
        ContainerDistributionResponse {
            registry_path: registry_path(s, &c.base_path),
            namespace,
            private: d.private,
            description: d.description.clone(),
            remote: d
                .remote_id
                .as_deref()
                .map(|id| depot_container::plugin::REMOTE.href(id)),
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
        }
    }

    fn validate_base_path(base_path: &str) -> CoreResult<()> {
        container_base_path(base_path)
    }
}

/// A container distribution: serves a container or push repository (or one version of it)
/// through the registry at `base_path`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContainerDistribution {
    pub name: String,
    pub base_path: String,
    pub content_guard: Option<String>,
    pub hidden: Option<bool>,
    pub pulp_labels: Option<Labels>,
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    /// Pulls need credentials.
    pub private: Option<bool>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PatchedContainerDistribution {
    pub name: Option<String>,
    pub base_path: Option<String>,
    pub content_guard: Option<String>,
    pub hidden: Option<bool>,
    pub pulp_labels: Option<Labels>,
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    pub private: Option<bool>,
    pub description: Option<String>,
}

/// A container distribution.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContainerDistributionResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub base_path: String,
    pub content_guard: Option<String>,
    pub content_guard_prn: Option<String>,
    pub no_content_change_since: Option<String>,
    pub hidden: bool,
    pub pulp_labels: Labels,
    pub name: String,
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    /// `host/base_path`, what `podman pull` takes.
    pub registry_path: String,
    pub remote: Option<String>,
    pub namespace: Option<String>,
    pub private: bool,
    pub description: Option<String>,
}

pub struct PullThrough;

impl DistributionType for PullThrough {
    const PULP_TYPE: &'static str = "container.pull-through";
    const KIND: Kind = &depot_container::plugin::PULL_THROUGH_DISTRIBUTION;
    const BASE: &'static str = "/pulp/api/v3/distributions/container/pull-through/";
    const PREFIX: &'static str = "distributions_container_pull_through";
    const HREF_PARAM: &'static str = "container_container_pull_through_distribution_href";
    const TAG: &'static str = "Distributions: Pull-Through";
    const REPOSITORIES: &'static [Kind] = &[];
    const PUBLICATION: Option<Kind> = None;
    const REMOTE: Option<Kind> = Some(&depot_container::plugin::PULL_THROUGH_REMOTE);

    type Create = ContainerPullThroughDistribution;
    type Patch = PatchedContainerPullThroughDistribution;
    type Response = ContainerPullThroughDistributionResponse;

    fn response(
        c: FileDistributionResponse,
        d: &Distribution,
        namespace: Option<String>,
        s: &Settings,
    ) -> Self::Response {
        ContainerPullThroughDistributionResponse {
            registry_path: registry_path(s, &c.base_path),
            namespace,
            private: d.private,
            description: d.description.clone(),
            remote: d
                .remote_id
                .as_deref()
                .map(|id| depot_container::plugin::PULL_THROUGH_REMOTE.href(id))
                .unwrap_or_default(),
            distributions: Vec::new(),
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
        }
    }

    fn validate_base_path(base_path: &str) -> CoreResult<()> {
        container_base_path(base_path)
    }
}

/// A pull-through distribution: a pull of `<base_path>/<name>` fetches `<name>` from the
/// remote's registry and caches it.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContainerPullThroughDistribution {
    pub name: String,
    pub base_path: String,
    pub remote: String,
    pub content_guard: Option<String>,
    pub hidden: Option<bool>,
    pub pulp_labels: Option<Labels>,
    pub private: Option<bool>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PatchedContainerPullThroughDistribution {
    pub name: Option<String>,
    pub base_path: Option<String>,
    pub remote: Option<String>,
    pub content_guard: Option<String>,
    pub hidden: Option<bool>,
    pub pulp_labels: Option<Labels>,
    pub private: Option<bool>,
    pub description: Option<String>,
}

/// A pull-through distribution.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContainerPullThroughDistributionResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub base_path: String,
    pub content_guard: Option<String>,
    pub content_guard_prn: Option<String>,
    pub no_content_change_since: Option<String>,
    pub hidden: bool,
    pub pulp_labels: Labels,
    pub name: String,
    pub remote: String,
    pub distributions: Vec<String>,
    pub registry_path: String,
    pub namespace: Option<String>,
    pub private: bool,
    pub description: Option<String>,
}

pub struct Python;

impl DistributionType for Python {
    const PULP_TYPE: &'static str = "python.pypi";
    const KIND: Kind = &depot_python::plugin::DISTRIBUTION;
    const BASE: &'static str = "/pulp/api/v3/distributions/python/pypi/";
    const PREFIX: &'static str = "distributions_python_pypi";
    const HREF_PARAM: &'static str = "python_python_distribution_href";
    const TAG: &'static str = "Distributions: Pypi";
    const REPOSITORIES: &'static [Kind] = &[&depot_python::plugin::REPOSITORY];
    const PUBLICATION: Option<Kind> = Some(&depot_python::plugin::PUBLICATION);
    const REMOTE: Option<Kind> = Some(&depot_python::plugin::REMOTE);

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
            base_url: format!("{}/pypi/{}/", s.content_origin, c.base_path),
            allow_uploads: d.allow_uploads,
            remote: d
                .remote_id
                .as_deref()
                .map(|id| depot_python::plugin::REMOTE.href(id)),
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
                .map(|id| depot_python::plugin::PUBLICATION.href(id)),
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

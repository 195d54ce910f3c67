//! Container distributions (`distributions/container/container/`) and pull-through
//! distributions (`distributions/container/pull-through/`): each is in the namespace of its
//! first base path segment, made when missing (as Pulp does).

use std::collections::HashMap;
use std::future::Future;

use depot_core::config::Settings;
use depot_core::db::Db;
use depot_core::hrefs::Kind;
use depot_core::models::Labels;
use depot_core::models::distribution::{Distribution, FileDistributionResponse};
use depot_core::{CoreError, CoreResult};
use depot_http::plugin_api::DistributionType;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::namespaces;

/// Container base paths are registry repository names.
fn container_base_path(base_path: &str) -> CoreResult<()> {
    crate::names::validate_name(base_path).map_err(|_| {
        CoreError::field(
            "base_path",
            "Must be a valid container repository name: lowercase path components of \
             [a-z0-9] separated by '.', '_', '__' or '-', joined by '/'.",
        )
    })
}

/// Where the registry serves a container distribution: the content origin's host, the domain
/// when URLs carry domains (as pulp_container writes it), and the path.
fn registry_path(s: &Settings, base_path: &str) -> String {
    let host = s
        .content_origin
        .split_once("://")
        .map(|(_, h)| h)
        .unwrap_or(&s.content_origin)
        .trim_end_matches('/');
    let domain = depot_core::domain::current();
    match domain.in_urls {
        true => format!("{host}/{}/{base_path}", domain.name),
        false => format!("{host}/{base_path}"),
    }
}

/// Container distributions: served by the registry.
pub struct Distributions;

impl DistributionType for Distributions {
    const PULP_TYPE: &'static str = "container.container";
    const KIND: Kind = &crate::plugin::DISTRIBUTION;
    const BASE: &'static str = "/pulp/api/v3/distributions/container/container/";
    const PREFIX: &'static str = "distributions_container_container";
    const HREF_PARAM: &'static str = "container_container_distribution_href";
    const TAG: &'static str = "Distributions: Container";
    const REPOSITORIES: &'static [Kind] =
        &[&crate::plugin::REPOSITORY, &crate::plugin::PUSH_REPOSITORY];
    const PUBLICATION: Option<Kind> = None;
    const REMOTE: Option<Kind> = None;

    type Create = ContainerDistribution;
    type Patch = PatchedContainerDistribution;
    type Response = ContainerDistributionResponse;

    fn response(
        c: FileDistributionResponse,
        d: &Distribution,
        related: Option<String>,
        s: &Settings,
    ) -> Self::Response {
        ContainerDistributionResponse {
            registry_path: registry_path(s, &c.base_path),
            namespace: related,
            private: d.private,
            description: d.description.clone(),
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
        }
    }

    fn validate_base_path(base_path: &str) -> CoreResult<()> {
        container_base_path(base_path)
    }

    fn related(
        db: &Db,
        ds: &[Distribution],
    ) -> impl Future<Output = CoreResult<HashMap<String, String>>> + Send {
        namespace_hrefs(db, ds)
    }

    fn saved(db: &Db, d: &Distribution) -> impl Future<Output = CoreResult<()>> + Send {
        crate::namespaces::ensure(db, &d.base_path)
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

/// Pull-through distributions: a remote registry, cached on first pull.
pub struct PullThroughDistributions;

impl DistributionType for PullThroughDistributions {
    const PULP_TYPE: &'static str = "container.pull-through";
    const KIND: Kind = &crate::plugin::PULL_THROUGH_DISTRIBUTION;
    const BASE: &'static str = "/pulp/api/v3/distributions/container/pull-through/";
    const PREFIX: &'static str = "distributions_container_pull_through";
    const HREF_PARAM: &'static str = "container_container_pull_through_distribution_href";
    const TAG: &'static str = "Distributions: Pull-Through";
    const REPOSITORIES: &'static [Kind] = &[];
    const PUBLICATION: Option<Kind> = None;
    const REMOTE: Option<Kind> = Some(&crate::plugin::PULL_THROUGH_REMOTE);

    type Create = ContainerPullThroughDistribution;
    type Patch = PatchedContainerPullThroughDistribution;
    type Response = ContainerPullThroughDistributionResponse;

    fn response(
        c: FileDistributionResponse,
        d: &Distribution,
        related: Option<String>,
        s: &Settings,
    ) -> Self::Response {
        ContainerPullThroughDistributionResponse {
            registry_path: registry_path(s, &c.base_path),
            namespace: related,
            private: d.private,
            description: d.description.clone(),
            remote: d
                .remote_id
                .as_deref()
                .map(|id| crate::plugin::PULL_THROUGH_REMOTE.href(id))
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

    fn related(
        db: &Db,
        ds: &[Distribution],
    ) -> impl Future<Output = CoreResult<HashMap<String, String>>> + Send {
        namespace_hrefs(db, ds)
    }

    fn saved(db: &Db, d: &Distribution) -> impl Future<Output = CoreResult<()>> + Send {
        crate::namespaces::ensure(db, &d.base_path)
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

/// The href of the namespace each distribution of `ds` is in (its first base path segment),
/// by distribution id; one query for them all.
async fn namespace_hrefs(db: &Db, ds: &[Distribution]) -> CoreResult<HashMap<String, String>> {
    if ds.is_empty() {
        return Ok(HashMap::new());
    }
    let names: Vec<&str> = ds.iter().map(|d| namespaces::of(&d.base_path)).collect();
    let ids = namespaces::ids_by_name(db, &names).await?;
    Ok(ds
        .iter()
        .filter_map(|d| {
            let id = ids.get(namespaces::of(&d.base_path))?;
            Some((d.id.clone(), crate::plugin::NAMESPACE.href(id)))
        })
        .collect())
}

//! Container repositories (`repositories/container/container/`, synced and changed by their
//! actions) and push repositories (`repositories/container/container-push/`, made by the
//! registry on first push).

use depot_core::hrefs::Kind;
use depot_core::models::Labels;
use depot_core::models::repository::Repository;
use depot_http::plugin_api::RepositoryType;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const CONTAINER_CONTENT: &[Kind] = &[
    &crate::plugin::TAG,
    &crate::plugin::MANIFEST,
    &crate::plugin::BLOB,
];

/// Container repositories: filled by syncs and by the repository actions.
pub struct Repositories;

impl RepositoryType for Repositories {
    const PULP_TYPE: &'static str = "container.container";
    const KIND: Kind = &crate::plugin::REPOSITORY;
    const REMOTE: Option<Kind> = Some(&crate::plugin::REMOTE);
    const CONTENT: &'static [Kind] = CONTAINER_CONTENT;
    const CREATABLE: bool = true;
    const MODIFY: bool = false;
    const BASE: &'static str = "/pulp/api/v3/repositories/container/container/";
    const PREFIX: &'static str = "repositories_container_container";
    const HREF_PARAM: &'static str = "container_container_repository_href";
    const VERSION_HREF_PARAM: &'static str = "container_container_repository_version_href";
    const TAG: &'static str = "Repositories: Container";
    const VERSIONS_TAG: &'static str = "Repositories: Container Versions";

    type Create = ContainerRepository;
    type Patch = PatchedContainerRepository;
    type Response = ContainerRepositoryResponse;

    fn response(repo: &Repository) -> ContainerRepositoryResponse {
        let r = repo.response();
        ContainerRepositoryResponse {
            pulp_href: r.pulp_href,
            prn: r.prn,
            pulp_created: r.pulp_created,
            pulp_last_updated: r.pulp_last_updated,
            versions_href: r.versions_href,
            pulp_labels: r.pulp_labels,
            latest_version_href: r.latest_version_href,
            name: r.name,
            description: r.description,
            retain_repo_versions: r.retain_repo_versions,
            remote: r.remote,
            manifest_signing_service: None,
        }
    }
}

/// A container repository to create or replace.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerRepository {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub pulp_labels: Option<Labels>,
    #[schemars(range(min = 1, max = 2147483647))]
    #[serde(default)]
    pub retain_repo_versions: Option<i64>,
    #[serde(default)]
    pub remote: Option<String>,
}

/// Fields to change on a container repository.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchedContainerRepository {
    pub name: Option<String>,
    pub description: Option<String>,
    pub pulp_labels: Option<Labels>,
    #[schemars(range(min = 1, max = 2147483647))]
    pub retain_repo_versions: Option<i64>,
    pub remote: Option<String>,
}

/// A container repository.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContainerRepositoryResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub versions_href: String,
    pub pulp_labels: Labels,
    pub latest_version_href: String,
    pub name: String,
    pub description: Option<String>,
    #[schemars(range(min = 1, max = 2147483647))]
    pub retain_repo_versions: Option<i64>,
    pub remote: Option<String>,
    pub manifest_signing_service: Option<String>,
}

/// Push repositories: made by the first push of a name to the registry.
pub struct PushRepositories;

impl RepositoryType for PushRepositories {
    const PULP_TYPE: &'static str = "container.container-push";
    const KIND: Kind = &crate::plugin::PUSH_REPOSITORY;
    const REMOTE: Option<Kind> = None;
    const CONTENT: &'static [Kind] = CONTAINER_CONTENT;
    const CREATABLE: bool = false;
    const MODIFY: bool = false;
    const BASE: &'static str = "/pulp/api/v3/repositories/container/container-push/";
    const PREFIX: &'static str = "repositories_container_container_push";
    const HREF_PARAM: &'static str = "container_container_push_repository_href";
    const VERSION_HREF_PARAM: &'static str = "container_container_push_repository_version_href";
    const TAG: &'static str = "Repositories: Container-Push";
    const VERSIONS_TAG: &'static str = "Repositories: Container-Push Versions";

    type Create = ContainerPushRepository;
    type Patch = PatchedContainerPushRepository;
    type Response = ContainerPushRepositoryResponse;

    fn response(repo: &Repository) -> ContainerPushRepositoryResponse {
        let r = repo.response();
        ContainerPushRepositoryResponse {
            pulp_href: r.pulp_href,
            prn: r.prn,
            pulp_created: r.pulp_created,
            pulp_last_updated: r.pulp_last_updated,
            versions_href: r.versions_href,
            pulp_labels: r.pulp_labels,
            latest_version_href: r.latest_version_href,
            name: r.name,
            description: r.description,
            retain_repo_versions: r.retain_repo_versions,
            manifest_signing_service: None,
        }
    }
}

/// A push repository's fields (its name is the pushed image's name).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerPushRepository {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub pulp_labels: Option<Labels>,
    #[schemars(range(min = 1, max = 2147483647))]
    #[serde(default)]
    pub retain_repo_versions: Option<i64>,
}

/// Fields to change on a push repository.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchedContainerPushRepository {
    pub name: Option<String>,
    pub description: Option<String>,
    pub pulp_labels: Option<Labels>,
    #[schemars(range(min = 1, max = 2147483647))]
    pub retain_repo_versions: Option<i64>,
}

/// A push repository.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContainerPushRepositoryResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub versions_href: String,
    pub pulp_labels: Labels,
    pub latest_version_href: String,
    pub name: String,
    pub description: Option<String>,
    #[schemars(range(min = 1, max = 2147483647))]
    pub retain_repo_versions: Option<i64>,
    pub manifest_signing_service: Option<String>,
}

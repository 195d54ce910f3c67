//! The repository types this family serves and what differs between them: their paths,
//! OpenAPI names, request and response shapes. The handlers in `crud.rs` and `versions.rs` are
//! written once over [`RepositoryType`].

use depot_core::hrefs::Kind;
use depot_core::models::Labels;
use depot_core::models::repository::{FileRepositoryResponse, NewRepository, Repository};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub trait RepositoryType: Send + Sync + 'static {
    const PULP_TYPE: &'static str;
    const KIND: Kind;
    /// The remote type it syncs from, if it has a `remote` field.
    const REMOTE: Option<Kind>;
    /// The content types it holds (content hrefs given to its actions must be one of these).
    const CONTENT: &'static [Kind];
    /// Push repositories are made by the registry on first push, never through this API.
    const CREATABLE: bool;
    /// List path, e.g. `/pulp/api/v3/repositories/file/file/`.
    const BASE: &'static str;
    /// operationId prefix, e.g. `repositories_file_file`.
    const PREFIX: &'static str;
    /// Detail path parameter, e.g. `file_file_repository_href`.
    const HREF_PARAM: &'static str;
    const VERSION_HREF_PARAM: &'static str;
    const TAG: &'static str;
    const VERSIONS_TAG: &'static str;

    type Create: DeserializeOwned + JsonSchema;
    type Patch: DeserializeOwned + JsonSchema;
    type Response: Serialize + JsonSchema + Send;

    fn response(repo: &Repository) -> Self::Response;

    /// Sets the type's own defaults on a repository about to be created.
    fn defaults(_new: &mut NewRepository) {}
}

pub struct File;

impl RepositoryType for File {
    const PULP_TYPE: &'static str = "file.file";
    const KIND: Kind = &depot_file::REPOSITORY;
    const REMOTE: Option<Kind> = Some(&depot_file::REMOTE);
    const CONTENT: &'static [Kind] = &[&depot_file::CONTENT];
    const CREATABLE: bool = true;
    const BASE: &'static str = "/pulp/api/v3/repositories/file/file/";
    const PREFIX: &'static str = "repositories_file_file";
    const HREF_PARAM: &'static str = "file_file_repository_href";
    const VERSION_HREF_PARAM: &'static str = "file_file_repository_version_href";
    const TAG: &'static str = "Repositories: File";
    const VERSIONS_TAG: &'static str = "Repositories: File Versions";

    type Create = FileRepository;
    type Patch = PatchedFileRepository;
    type Response = FileRepositoryResponse;

    fn response(repo: &Repository) -> FileRepositoryResponse {
        repo.response()
    }

    fn defaults(new: &mut NewRepository) {
        new.manifest.get_or_insert_with(|| "PULP_MANIFEST".into());
    }
}

/// A file repository to create or replace.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRepository {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub pulp_labels: Option<Labels>,
    #[schemars(range(min = 1, max = 2147483647))]
    #[serde(default)]
    pub retain_repo_versions: Option<i64>,
    #[schemars(range(min = 1, max = 2147483647))]
    #[serde(default)]
    pub retain_checkpoints: Option<i64>,
    #[serde(default)]
    pub remote: Option<String>,
    #[serde(default)]
    pub autopublish: Option<bool>,
    #[serde(default)]
    pub manifest: Option<String>,
}

/// Fields to change on a file repository.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchedFileRepository {
    pub name: Option<String>,
    pub description: Option<String>,
    pub pulp_labels: Option<Labels>,
    #[schemars(range(min = 1, max = 2147483647))]
    pub retain_repo_versions: Option<i64>,
    #[schemars(range(min = 1, max = 2147483647))]
    pub retain_checkpoints: Option<i64>,
    pub remote: Option<String>,
    pub autopublish: Option<bool>,
    pub manifest: Option<String>,
}

const CONTAINER_CONTENT: &[Kind] = &[
    &depot_container::plugin::TAG,
    &depot_container::plugin::MANIFEST,
    &depot_container::plugin::BLOB,
];

/// Container repositories: filled by syncs and by the repository actions.
pub struct Container;

impl RepositoryType for Container {
    const PULP_TYPE: &'static str = "container.container";
    const KIND: Kind = &depot_container::plugin::REPOSITORY;
    const REMOTE: Option<Kind> = Some(&depot_container::plugin::REMOTE);
    const CONTENT: &'static [Kind] = CONTAINER_CONTENT;
    const CREATABLE: bool = true;
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
pub struct ContainerPush;

impl RepositoryType for ContainerPush {
    const PULP_TYPE: &'static str = "container.container-push";
    const KIND: Kind = &depot_container::plugin::PUSH_REPOSITORY;
    const REMOTE: Option<Kind> = None;
    const CONTENT: &'static [Kind] = CONTAINER_CONTENT;
    const CREATABLE: bool = false;
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

/// The value of an optional string field as sent (null and absent are both `None`).
pub fn text(raw: &serde_json::Map<String, Value>, field: &str) -> Option<String> {
    raw.get(field).and_then(Value::as_str).map(str::to_string)
}

/// Python repositories: filled by twine uploads, the `modify/` action and syncs.
pub struct Python;

impl RepositoryType for Python {
    const PULP_TYPE: &'static str = "python.python";
    const KIND: Kind = &depot_python::plugin::REPOSITORY;
    const REMOTE: Option<Kind> = Some(&depot_python::plugin::REMOTE);
    const CONTENT: &'static [Kind] = &[&depot_python::plugin::PACKAGE];
    const CREATABLE: bool = true;
    const BASE: &'static str = "/pulp/api/v3/repositories/python/python/";
    const PREFIX: &'static str = "repositories_python_python";
    const HREF_PARAM: &'static str = "python_python_repository_href";
    const VERSION_HREF_PARAM: &'static str = "python_python_repository_version_href";
    const TAG: &'static str = "Repositories: Python";
    const VERSIONS_TAG: &'static str = "Repositories: Python Versions";

    type Create = PythonRepository;
    type Patch = PatchedPythonRepository;
    type Response = PythonPythonRepositoryResponse;

    fn response(repo: &Repository) -> PythonPythonRepositoryResponse {
        PythonPythonRepositoryResponse {
            common: repo.response(),
            allow_package_substitution: true,
        }
    }
}

/// A python repository to create or replace.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PythonRepository {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub pulp_labels: Option<Labels>,
    #[schemars(range(min = 1, max = 2147483647))]
    #[serde(default)]
    pub retain_repo_versions: Option<i64>,
    #[schemars(range(min = 1, max = 2147483647))]
    #[serde(default)]
    pub retain_checkpoints: Option<i64>,
    #[serde(default)]
    pub remote: Option<String>,
    #[serde(default)]
    pub autopublish: Option<bool>,
}

/// Fields to change on a python repository.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchedPythonRepository {
    pub name: Option<String>,
    pub description: Option<String>,
    pub pulp_labels: Option<Labels>,
    #[schemars(range(min = 1, max = 2147483647))]
    pub retain_repo_versions: Option<i64>,
    #[schemars(range(min = 1, max = 2147483647))]
    pub retain_checkpoints: Option<i64>,
    pub remote: Option<String>,
    pub autopublish: Option<bool>,
}

/// A python repository: a file repository's fields and whether a file may be replaced by one
/// with other bytes (always, here, as in pulp_python's default).
#[derive(Debug, Serialize, JsonSchema)]
pub struct PythonPythonRepositoryResponse {
    #[serde(flatten)]
    pub common: FileRepositoryResponse,
    pub allow_package_substitution: bool,
}

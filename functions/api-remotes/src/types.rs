//! The remote types this family serves and what differs between them. The handlers in
//! `lib.rs` are written once over [`RemoteType`].

use depot_core::hrefs::Kind;
use depot_core::models::Labels;
use depot_core::models::remote::{FileRemoteResponse, Policy, Remote};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub trait RemoteType: Send + Sync + 'static {
    const PULP_TYPE: &'static str;
    const KIND: Kind;
    const BASE: &'static str;
    const PREFIX: &'static str;
    const HREF_PARAM: &'static str;
    const TAG: &'static str;
    /// The type's own fields, kept with the settings.
    const FIELDS: &'static [&'static str];
    const DEFAULT_POLICY: Policy;

    type Create: DeserializeOwned + JsonSchema;
    type Patch: DeserializeOwned + JsonSchema;
    type Response: Serialize + JsonSchema + Send;

    fn response(remote: &Remote) -> Self::Response;

    /// The type's own checks of the fields sent (before anything is stored).
    fn validate(_raw: &serde_json::Map<String, Value>) -> depot_core::CoreResult<()> {
        Ok(())
    }
}

/// The connection settings every remote has (all optional).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RemoteSettings {
    pub pulp_labels: Option<Labels>,
    pub policy: Option<Policy>,
    pub ca_cert: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub tls_validation: Option<bool>,
    pub proxy_url: Option<String>,
    pub proxy_username: Option<String>,
    pub proxy_password: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    #[schemars(range(min = 0, max = 100))]
    pub max_retries: Option<i64>,
    /// Seconds; at most a day.
    #[schemars(range(min = 0, max = MAX_TIMEOUT))]
    pub total_timeout: Option<f64>,
    #[schemars(range(min = 0, max = MAX_TIMEOUT))]
    pub connect_timeout: Option<f64>,
    #[schemars(range(min = 0, max = MAX_TIMEOUT))]
    pub sock_connect_timeout: Option<f64>,
    #[schemars(range(min = 0, max = MAX_TIMEOUT))]
    pub sock_read_timeout: Option<f64>,
    pub headers: Option<Vec<Value>>,
    #[schemars(range(min = 1, max = 1000))]
    pub download_concurrency: Option<i64>,
    #[schemars(range(min = 0, max = 2147483647))]
    pub rate_limit: Option<i64>,
}

/// The longest timeout a remote may set, in seconds.
const MAX_TIMEOUT: f64 = 86_400.0;

pub struct File;

impl RemoteType for File {
    const PULP_TYPE: &'static str = "file.file";
    const KIND: Kind = &depot_file::REMOTE;
    const BASE: &'static str = "/pulp/api/v3/remotes/file/file/";
    const PREFIX: &'static str = "remotes_file_file";
    const HREF_PARAM: &'static str = "file_file_remote_href";
    const TAG: &'static str = "Remotes: File";
    const FIELDS: &'static [&'static str] = &[];
    const DEFAULT_POLICY: Policy = Policy::Immediate;

    type Create = FileRemote;
    type Patch = PatchedFileRemote;
    type Response = FileRemoteResponse;

    fn response(remote: &Remote) -> FileRemoteResponse {
        remote.response()
    }
}

/// A file remote: `url` points at a PULP_MANIFEST.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FileRemote {
    pub name: String,
    pub url: String,
    #[serde(flatten)]
    pub settings: RemoteSettings,
}

/// Fields to change on a file remote.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PatchedFileRemote {
    pub name: Option<String>,
    pub url: Option<String>,
    #[serde(flatten)]
    pub settings: RemoteSettings,
}

pub struct Container;

impl RemoteType for Container {
    const PULP_TYPE: &'static str = "container.container";
    const KIND: Kind = &depot_container::plugin::REMOTE;
    const BASE: &'static str = "/pulp/api/v3/remotes/container/container/";
    const PREFIX: &'static str = "remotes_container_container";
    const HREF_PARAM: &'static str = "container_container_remote_href";
    const TAG: &'static str = "Remotes: Container";
    const FIELDS: &'static [&'static str] = &["upstream_name", "includes", "excludes", "sigstore"];
    const DEFAULT_POLICY: Policy = Policy::Immediate;

    type Create = ContainerRemote;
    type Patch = PatchedContainerRemote;
    type Response = ContainerRemoteResponse;

    fn response(remote: &Remote) -> ContainerRemoteResponse {
        ContainerRemoteResponse {
            common: remote.response(),
            upstream_name: text(remote, "upstream_name").unwrap_or_default(),
            includes: remote.strings("includes"),
            excludes: remote.strings("excludes"),
            sigstore: text(remote, "sigstore"),
        }
    }
}

/// A container remote: a registry at `url` and the repository `upstream_name` there, with
/// optional tag filters (shell wildcards). `include_tags` and `exclude_tags` are the older
/// names of `includes` and `excludes`, still accepted.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContainerRemote {
    pub name: String,
    pub url: String,
    pub upstream_name: String,
    pub includes: Option<Vec<String>>,
    pub excludes: Option<Vec<String>>,
    pub include_tags: Option<Vec<String>>,
    pub exclude_tags: Option<Vec<String>>,
    pub sigstore: Option<String>,
    #[serde(flatten)]
    pub settings: RemoteSettings,
}

/// Fields to change on a container remote.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PatchedContainerRemote {
    pub name: Option<String>,
    pub url: Option<String>,
    pub upstream_name: Option<String>,
    pub includes: Option<Vec<String>>,
    pub excludes: Option<Vec<String>>,
    pub include_tags: Option<Vec<String>>,
    pub exclude_tags: Option<Vec<String>>,
    pub sigstore: Option<String>,
    #[serde(flatten)]
    pub settings: RemoteSettings,
}

/// A container remote.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContainerRemoteResponse {
    #[serde(flatten)]
    pub common: FileRemoteResponse,
    pub upstream_name: String,
    pub includes: Option<Vec<String>>,
    pub excludes: Option<Vec<String>>,
    pub sigstore: Option<String>,
}

pub struct PullThrough;

impl RemoteType for PullThrough {
    const PULP_TYPE: &'static str = "container.pull-through";
    const KIND: Kind = &depot_container::plugin::PULL_THROUGH_REMOTE;
    const BASE: &'static str = "/pulp/api/v3/remotes/container/pull-through/";
    const PREFIX: &'static str = "remotes_container_pull_through";
    const HREF_PARAM: &'static str = "container_container_pull_through_remote_href";
    const TAG: &'static str = "Remotes: Pull-Through";
    const FIELDS: &'static [&'static str] = &["includes", "excludes"];
    const DEFAULT_POLICY: Policy = Policy::OnDemand;

    type Create = ContainerPullThroughRemote;
    type Patch = PatchedContainerPullThroughRemote;
    type Response = ContainerPullThroughRemoteResponse;

    fn response(remote: &Remote) -> ContainerPullThroughRemoteResponse {
        ContainerPullThroughRemoteResponse {
            common: remote.response(),
            includes: remote.strings("includes"),
            excludes: remote.strings("excludes"),
        }
    }
}

/// A pull-through remote: a registry at `url` whose repositories are cached on first pull,
/// optionally only those whose names match `includes` and not `excludes`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContainerPullThroughRemote {
    pub name: String,
    pub url: String,
    pub includes: Option<Vec<String>>,
    pub excludes: Option<Vec<String>>,
    #[serde(flatten)]
    pub settings: RemoteSettings,
}

/// Fields to change on a pull-through remote.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PatchedContainerPullThroughRemote {
    pub name: Option<String>,
    pub url: Option<String>,
    pub includes: Option<Vec<String>>,
    pub excludes: Option<Vec<String>>,
    #[serde(flatten)]
    pub settings: RemoteSettings,
}

/// A pull-through remote.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContainerPullThroughRemoteResponse {
    #[serde(flatten)]
    pub common: FileRemoteResponse,
    pub includes: Option<Vec<String>>,
    pub excludes: Option<Vec<String>>,
}

pub struct Python;

impl RemoteType for Python {
    const PULP_TYPE: &'static str = "python.python";
    const KIND: Kind = &depot_python::plugin::REMOTE;
    const BASE: &'static str = "/pulp/api/v3/remotes/python/python/";
    const PREFIX: &'static str = "remotes_python_python";
    const HREF_PARAM: &'static str = "python_python_remote_href";
    const TAG: &'static str = "Remotes: Python";
    const FIELDS: &'static [&'static str] = &[
        "includes",
        "excludes",
        "prereleases",
        "package_types",
        "keep_latest_packages",
        "exclude_platforms",
        "provenance",
    ];
    const DEFAULT_POLICY: Policy = Policy::OnDemand;

    type Create = PythonRemote;
    type Patch = PatchedPythonRemote;
    type Response = PythonPythonRemoteResponse;

    fn response(remote: &Remote) -> PythonPythonRemoteResponse {
        let flag = |k: &str| remote.setting(k).and_then(Value::as_bool).unwrap_or(false);
        PythonPythonRemoteResponse {
            common: remote.response(),
            includes: remote.strings("includes").unwrap_or_default(),
            excludes: remote.strings("excludes").unwrap_or_default(),
            prereleases: flag("prereleases"),
            package_types: remote.strings("package_types").unwrap_or_default(),
            keep_latest_packages: remote
                .setting("keep_latest_packages")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            exclude_platforms: remote.strings("exclude_platforms").unwrap_or_default(),
            provenance: flag("provenance"),
        }
    }

    fn validate(raw: &serde_json::Map<String, Value>) -> depot_core::CoreResult<()> {
        let strings = |k: &str| -> Vec<String> {
            raw.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        for field in ["includes", "excludes"] {
            depot_python::filters::validate(&strings(field))
                .map_err(|e| depot_core::CoreError::field(field, e.to_string()))?;
        }
        let choices: [(&str, &[&str]); 2] = [
            (
                "package_types",
                &[
                    "bdist_dmg",
                    "bdist_dumb",
                    "bdist_egg",
                    "bdist_msi",
                    "bdist_rpm",
                    "bdist_wheel",
                    "bdist_wininst",
                    "sdist",
                ],
            ),
            (
                "exclude_platforms",
                &["windows", "macos", "freebsd", "linux"],
            ),
        ];
        for (field, allowed) in choices {
            if let Some(bad) = strings(field)
                .iter()
                .find(|v| !allowed.contains(&v.as_str()))
            {
                return Err(depot_core::CoreError::field(
                    field,
                    format!("\"{bad}\" is not a valid choice."),
                ));
            }
        }
        Ok(())
    }
}

/// A python remote: an index at `url` (PEP 503/691) and which projects, versions and files of
/// it a sync takes. `includes` and `excludes` are requirement specifiers (`django~=4.0`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PythonRemote {
    pub name: String,
    pub url: String,
    pub includes: Option<Vec<String>>,
    pub excludes: Option<Vec<String>>,
    pub prereleases: Option<bool>,
    pub package_types: Option<Vec<String>>,
    #[schemars(range(min = 0, max = 2147483647))]
    pub keep_latest_packages: Option<i64>,
    pub exclude_platforms: Option<Vec<String>>,
    pub provenance: Option<bool>,
    #[serde(flatten)]
    pub settings: RemoteSettings,
}

/// Fields to change on a python remote.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PatchedPythonRemote {
    pub name: Option<String>,
    pub url: Option<String>,
    pub includes: Option<Vec<String>>,
    pub excludes: Option<Vec<String>>,
    pub prereleases: Option<bool>,
    pub package_types: Option<Vec<String>>,
    #[schemars(range(min = 0, max = 2147483647))]
    pub keep_latest_packages: Option<i64>,
    pub exclude_platforms: Option<Vec<String>>,
    pub provenance: Option<bool>,
    #[serde(flatten)]
    pub settings: RemoteSettings,
}

/// A python remote.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PythonPythonRemoteResponse {
    #[serde(flatten)]
    pub common: FileRemoteResponse,
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
    pub prereleases: bool,
    pub package_types: Vec<String>,
    pub keep_latest_packages: i64,
    pub exclude_platforms: Vec<String>,
    pub provenance: bool,
}

/// Folds the older field names into the current ones (`include_tags` into `includes`, ...).
pub fn fold_aliases(raw: &mut serde_json::Map<String, Value>) {
    for (old, new) in [("include_tags", "includes"), ("exclude_tags", "excludes")] {
        if let Some(v) = raw.remove(old) {
            match (raw.get_mut(new), v) {
                (Some(Value::Array(current)), Value::Array(more)) => current.extend(more),
                (_, v) => {
                    raw.insert(new.into(), v);
                }
            }
        }
    }
}

fn text(remote: &Remote, field: &str) -> Option<String> {
    remote
        .setting(field)
        .and_then(Value::as_str)
        .map(str::to_string)
}

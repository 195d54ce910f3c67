//! Python remotes (`remotes/python/python/`).

use depot_core::hrefs::Kind;
use depot_core::models::remote::{FileRemoteResponse, Policy, Remote};
use depot_http::plugin_api::RemoteType;
use depot_http::plugin_api::remote::RemoteSettings;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Python remotes: another package index to sync from or to fetch on demand.
pub struct Remotes;

impl RemoteType for Remotes {
    const PULP_TYPE: &'static str = "python.python";
    const KIND: Kind = &crate::plugin::REMOTE;
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
            crate::filters::validate(&strings(field))
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

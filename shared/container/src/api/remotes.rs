//! Container remotes (`remotes/container/container/`) and pull-through remotes
//! (`remotes/container/pull-through/`).

use depot_core::hrefs::Kind;
use depot_core::models::remote::{FileRemoteResponse, Policy, Remote};
use depot_http::plugin_api::RemoteType;
use depot_http::plugin_api::remote::RemoteSettings;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Container remotes: one repository of another registry.
pub struct Remotes;

impl RemoteType for Remotes {
    const PULP_TYPE: &'static str = "container.container";
    const KIND: Kind = &crate::plugin::REMOTE;
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

/// Pull-through remotes: a whole registry, cached on first pull.
pub struct PullThroughRemotes;

impl RemoteType for PullThroughRemotes {
    const PULP_TYPE: &'static str = "container.pull-through";
    const KIND: Kind = &crate::plugin::PULL_THROUGH_REMOTE;
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

fn text(remote: &Remote, field: &str) -> Option<String> {
    remote
        .setting(field)
        .and_then(Value::as_str)
        .map(str::to_string)
}

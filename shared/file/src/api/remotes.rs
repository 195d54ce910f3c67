//! File remotes (`remotes/file/file/`).

use depot_core::hrefs::Kind;
use depot_core::models::remote::{FileRemoteResponse, Policy, Remote};
use depot_http::plugin_api::RemoteType;
use depot_http::plugin_api::remote::RemoteSettings;
use schemars::JsonSchema;
use serde::Deserialize;

/// File remotes: a PULP_MANIFEST to sync from.
pub struct Remotes;

impl RemoteType for Remotes {
    const PULP_TYPE: &'static str = "file.file";
    const KIND: Kind = &crate::REMOTE;
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
